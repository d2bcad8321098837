"""Identity-provider sign-in, the parts without a network: flow cookie, role mapping, settings.

The whole flow against a real provider process is in tests/e2e/test_provider_sign_in.py.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from pydantic import ValidationError

from federation.keys import MemberKeys
from node.auth.exceptions import OidcSignInRefused
from node.auth.oidc import FLOW_TTL_S, map_role, read_flow, start_flow
from node.auth.oidc_flows import provider_username
from node.config import NodeSettings

KEYS = MemberKeys.generate()
ROLES = {"joinedup-auditors": "auditor", "joinedup-staff": "frontline"}


def test_flow_cookie_round_trips_for_its_own_state() -> None:
    flow, cookie = start_flow(keys=KEYS, next_page="/ui/persons")
    assert read_flow(cookie, state=flow.state, keys=KEYS) == flow
    assert len(flow.verifier) >= 43  # RFC 7636 §4.1


@pytest.mark.parametrize(
    ("cookie_of", "state", "cause"),
    [
        ("ours", "another-state", "state does not match"),
        ("theirs", None, "flow cookie does not verify"),
        ("none", None, "no sign-in in progress (missing flow cookie or state)"),
    ],
)
def test_flow_cookie_refuses_what_this_browser_did_not_start(
    cookie_of: str, state: str | None, cause: str
) -> None:
    flow, cookie = start_flow(keys=KEYS, next_page="/ui/")
    if cookie_of == "theirs":
        cookie = start_flow(keys=MemberKeys.generate(), next_page="/ui/")[1]
    with pytest.raises(OidcSignInRefused) as refused:
        read_flow(None if cookie_of == "none" else cookie, state=state or flow.state, keys=KEYS)
    assert refused.value.cause == cause


def test_flow_cookie_expires() -> None:
    started = time.time()
    flow, cookie = start_flow(keys=KEYS, next_page="/ui/", now=started)
    with pytest.raises(OidcSignInRefused, match="refused") as refused:
        read_flow(cookie, state=flow.state, keys=KEYS, now=started + FLOW_TTL_S + 1)
    assert refused.value.cause == "sign-in took too long (flow expired)"


def test_first_configured_group_wins() -> None:
    claims = {"groups": ["joinedup-staff", "joinedup-auditors"]}
    assert map_role(claims, groups_claim="groups", roles=ROLES) == "auditor"
    assert map_role({"roles": "joinedup-staff"}, groups_claim="roles", roles=ROLES) == "frontline"


@pytest.mark.parametrize("groups", [[], ["finance"], "finance", None, [{"x": 1}]])
def test_no_mapped_group_is_refused(groups: object) -> None:
    with pytest.raises(OidcSignInRefused):
        map_role({"groups": groups}, groups_claim="groups", roles=ROLES)


def test_provider_username_carries_no_personal_data() -> None:
    name = provider_username("https://login.example", "amira.khan@northdale.example")
    assert name.startswith("idp:")
    assert "amira" not in name
    assert len(name) <= 64
    assert name != provider_username("https://other.example", "amira.khan@northdale.example")


def _oidc(tmp_path: Path, **overrides: object) -> NodeSettings:
    values: dict[str, object] = {
        "org_id": "council-a",
        "data_dir": tmp_path,
        "oidc_issuer": "https://login.northdale.example",
        "oidc_client_id": "joinedup",
        "oidc_client_secret": "a real client secret",
        "oidc_roles": ROLES,
    }
    values.update(overrides)
    return NodeSettings(**values)  # type: ignore[arg-type]


def test_provider_settings_accepted(tmp_path: Path) -> None:
    assert _oidc(tmp_path).oidc_enabled


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"oidc_client_secret": None}, "oidc_client_secret"),
        ({"oidc_roles": {}}, "oidc_roles"),
        ({"oidc_roles": {"staff": "superuser"}}, "unknown roles"),
        ({"oidc_issuer": "http://login.northdale.example"}, "https://"),
        ({"oidc_issuer": "http://127.0.0.1:9000"}, "https://"),
    ],
)
def test_provider_settings_refused(
    tmp_path: Path, overrides: dict[str, object], message: str
) -> None:
    with pytest.raises(ValidationError, match=message):
        _oidc(tmp_path, **overrides)


def test_loopback_provider_only_in_the_demo(tmp_path: Path) -> None:
    assert _oidc(tmp_path, oidc_issuer="http://127.0.0.1:9000", demo=True).oidc_enabled

"""Staff sign-in through an OpenID Connect provider: a real provider and a real node.

Both run as uvicorn processes on loopback: the provider is
``joinedup.demo.identity_provider`` with its test controls on, so a wrong audience,
an expired token, a wrong nonce or a key the JWKS does not publish really come over
the wire from the provider's token endpoint; the node is a plain node with
``JOINEDUP_NODE_OIDC_*`` set. A test signs in the way a browser does (follow the
node's redirect to the provider, pick a person, follow the provider's redirect back
with the cookies the node set) and reads the node's audit log as an auditor who
also signed in through the provider.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from joinedup.demo.identity_provider import ProviderUser, provider_env
from tests.fixtures.servers import RunningServer, ServerSpec, start_many

pytestmark = pytest.mark.e2e

CLIENT_ID = "joinedup-council"
CLIENT_SECRET = "a client secret for the test provider"
USERS = [
    ProviderUser(sub="u-1001", name="Amira Khan", groups=["staff", "joinedup-coordinators"]),
    ProviderUser(sub="u-1002", name="Avery Jones", groups=["joinedup-auditors"]),
    ProviderUser(sub="u-1003", name="Sam Finance", groups=["finance"]),
    ProviderUser(sub="u-1004", name="Ada Admin", groups=["joinedup-admins"]),
    ProviderUser(sub="u-1005", name="Dee Disabled", groups=["joinedup-coordinators"]),
]
ROLES = {
    "joinedup-coordinators": "coordinator",
    "joinedup-auditors": "auditor",
    "joinedup-admins": "admin",
}


@dataclass
class Setup:
    node: RunningServer
    provider: RunningServer

    clients: list[httpx.Client] = field(default_factory=list)

    def browser(self) -> httpx.Client:
        """A fresh cookie jar, like a new browser; closed when the module ends."""
        client = httpx.Client(base_url=self.node.base_url, timeout=10)
        self.clients.append(client)
        return client

    def misbehave(self, **changes: object) -> None:
        response = httpx.post(f"{self.provider.base_url}/test/next-token", json=changes)
        assert response.status_code == 200


@pytest.fixture(scope="module")
def setup(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Setup]:
    root: Path = tmp_path_factory.mktemp("oidc")
    node_spec = ServerSpec("node", "node.main:create_app_from_env", {})
    provider_spec = ServerSpec(
        "provider", "joinedup.demo.identity_provider:create_provider_from_env", {}
    )
    node_url = f"http://127.0.0.1:{node_spec.port}"
    issuer = f"http://127.0.0.1:{provider_spec.port}"
    provider_spec.env.update(
        provider_env(
            issuer=issuer,
            client_id=CLIENT_ID,
            client_secret=CLIENT_SECRET,
            redirect_uris=[f"{node_url}/ui/login/oidc/callback"],
            users=USERS,
            test_controls=True,
        )
    )
    node_spec.env.update(
        {
            "JOINEDUP_NODE_ORG_ID": "council",
            "JOINEDUP_NODE_ORG_NAME": "Northdale Council",
            "JOINEDUP_NODE_DATA_DIR": str(root / "council"),
            "JOINEDUP_NODE_PUBLIC_URL": node_url,
            "JOINEDUP_NODE_DEMO": "true",
            "JOINEDUP_NODE_OIDC_ISSUER": issuer,
            "JOINEDUP_NODE_OIDC_CLIENT_ID": CLIENT_ID,
            "JOINEDUP_NODE_OIDC_CLIENT_SECRET": CLIENT_SECRET,
            "JOINEDUP_NODE_OIDC_PROVIDER_NAME": "Northdale Council account",
            "JOINEDUP_NODE_OIDC_ROLES": json.dumps(ROLES),
            # Every unknown kid fetches the JWKS again, so the rotation test needs no wait.
            "JOINEDUP_NODE_OIDC_JWKS_REFETCH_S": "0",
        }
    )
    with start_many([provider_spec, node_spec], root / "logs") as servers:
        setup = Setup(node=servers["node"], provider=servers["provider"])
        yield setup
        for client in setup.clients:
            client.close()


def sign_in(
    setup: Setup, sub: str, *, next_page: str = "/ui/"
) -> tuple[httpx.Client, httpx.Response]:
    """Sign in as the provider's person ``sub``; the client and the callback's answer."""
    client = setup.browser()
    start = client.get("/ui/login/oidc", params={"next": next_page})
    assert start.status_code == 303, start.text
    authorize = start.headers["location"]
    assert authorize.startswith(setup.provider.base_url + "/authorize?")
    query = parse_qs(urlsplit(authorize).query)
    assert query["code_challenge_method"] == ["S256"]
    assert query["nonce"]
    assert query["state"]
    back = client.get(f"{authorize}&login_hint={sub}")
    assert back.status_code == 302, back.text
    callback = back.headers["location"]
    assert callback.startswith(setup.node.base_url + "/ui/login/oidc/callback?")
    return client, client.get(callback)


def login_entries(setup: Setup) -> list[dict[str, object]]:
    client, answer = sign_in(setup, "u-1002")
    assert answer.status_code == 200
    token = client.cookies["joinedup_staff"]
    response = httpx.get(
        f"{setup.node.base_url}/audit/entries",
        params={"limit": 500},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert response.status_code == 200, response.text
    return [e for e in response.json()["data"] if e["kind"] == "login"]


def test_staff_member_signs_in_through_the_provider(setup: Setup) -> None:
    client, answer = sign_in(setup, "u-1001")
    assert answer.status_code == 200
    assert "You are signed in" in answer.text
    assert 'url=/ui/persons"' in answer.text  # a coordinator starts from Find a person
    account = client.get("/ui/account")
    assert account.status_code == 200
    # The provider's display name, no raw identifier, and the mapped role.
    assert "Amira Khan" in account.text
    assert "idp:" not in account.text
    assert "Care co-ordinator" in account.text
    # The session works on the API too: the cookie is the same staff token.
    token = client.cookies["joinedup_staff"]
    persons = httpx.get(
        f"{setup.node.base_url}/persons", headers={"Authorization": f"Bearer {token}"}
    )
    assert persons.status_code == 200


def test_sign_in_and_refusal_are_audited(setup: Setup) -> None:
    setup.misbehave(aud="another-application")
    _, refused = sign_in(setup, "u-1001")
    assert refused.status_code == 401
    entries = login_entries(setup)
    reasons = [(e["decision"], e["reason"]) for e in entries]
    assert ("deny", "ID token for another audience (identity provider)") in reasons
    allowed = [e for e in entries if e["decision"] == "allow"]
    assert allowed
    assert all(str(e["reason"]).startswith("signed in (identity provider)") for e in allowed)
    # Audit entries name staff by pseudonym only: never the provider's subject or name.
    text = json.dumps(entries)
    assert "u-1001" not in text
    assert "Amira" not in text
    assert "Avery" not in text


@pytest.mark.parametrize(
    ("misbehaviour", "cause"),
    [
        ({"aud": "another-application"}, "ID token for another audience"),
        ({"exp_offset_s": -600}, "ID token expired"),
        ({"nonce": "a-nonce-from-another-sign-in"}, "ID token nonce does not match"),
        ({"unpublished_key": True}, "ID token signature does not verify"),
    ],
    ids=["wrong-audience", "expired", "bad-nonce", "unpublished-key"],
)
def test_bad_id_token_is_refused(setup: Setup, misbehaviour: dict[str, object], cause: str) -> None:
    setup.misbehave(**misbehaviour)
    client, answer = sign_in(setup, "u-1001")
    assert answer.status_code == 401
    assert "did not let you in" in answer.text
    assert "joinedup_staff" not in client.cookies
    assert ("deny", f"{cause} (identity provider)") in [
        (e["decision"], e["reason"]) for e in login_entries(setup)
    ]


def test_unmapped_group_is_refused(setup: Setup) -> None:
    client, answer = sign_in(setup, "u-1003")
    assert answer.status_code == 401
    assert "joinedup_staff" not in client.cookies
    assert ("deny", "no group mapped to a role (identity provider)") in [
        (e["decision"], e["reason"]) for e in login_entries(setup)
    ]


def test_callback_from_another_browser_is_refused(setup: Setup) -> None:
    client = setup.browser()
    authorize = client.get("/ui/login/oidc").headers["location"]
    callback = client.get(f"{authorize}&login_hint=u-1001").headers["location"]
    # Another browser (no flow cookie) presents the same code and state: login CSRF.
    stranger = httpx.get(callback)
    assert stranger.status_code == 401
    # A tampered state in the right browser is refused too.
    tampered = re.sub(r"state=[^&]+", "state=forged", callback)
    assert client.get(tampered).status_code == 401


def test_provider_key_rotation_needs_no_restart(setup: Setup) -> None:
    _, first = sign_in(setup, "u-1001")
    assert first.status_code == 200
    rotated = httpx.post(f"{setup.provider.base_url}/test/rotate-keys")
    assert rotated.status_code == 200
    _, second = sign_in(setup, "u-1001")
    assert second.status_code == 200


def test_sign_out_ends_the_provider_session_too(setup: Setup) -> None:
    client, _ = sign_in(setup, "u-1001")
    account = client.get("/ui/account")
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', account.text)
    assert csrf, account.text
    out = client.post(
        "/ui/logout", data={"csrf_token": csrf.group(1)}, headers={"Origin": setup.node.base_url}
    )
    assert out.status_code == 200
    link = re.search(r'<a href="([^"]+)" data-testid="provider-sign-out"', out.text)
    assert link
    target = link.group(1).replace("&amp;", "&")
    assert target.startswith(setup.provider.base_url + "/logout?")
    back = httpx.get(target)
    assert back.status_code == 302
    assert back.headers["location"] == f"{setup.node.base_url}/ui/login"
    assert client.get("/ui/account").status_code == 303  # the node's session is gone


def test_local_accounts_still_offered(setup: Setup) -> None:
    page = httpx.get(f"{setup.node.base_url}/ui/login")
    assert page.status_code == 200
    assert "Sign in with your Northdale Council account" in page.text
    assert 'name="password"' in page.text


def test_a_provider_account_cannot_sign_in_with_a_password(setup: Setup) -> None:
    sign_in(setup, "u-1001")
    from node.auth.oidc_flows import provider_username

    username = provider_username(setup.provider.base_url, "u-1001")
    response = httpx.post(
        f"{setup.node.base_url}/auth/token",
        data={"username": username, "password": "anything at all, long enough"},
    )
    assert response.status_code == 401


def test_an_admin_here_can_cut_off_a_person_the_provider_vouches_for(setup: Setup) -> None:
    person, first = sign_in(setup, "u-1005")
    assert first.status_code == 200
    old_token = person.cookies["joinedup_staff"]
    admin, _ = sign_in(setup, "u-1004")
    bearer = {"Authorization": f"Bearer {admin.cookies['joinedup_staff']}"}
    accounts = httpx.get(f"{setup.node.base_url}/staff", headers=bearer).json()["data"]
    account = next(a for a in accounts if a["display_name"] == "Dee Disabled")
    assert account["username"].startswith("idp:")
    changed = httpx.patch(
        f"{setup.node.base_url}/staff/{account['id']}", json={"active": False}, headers=bearer
    )
    assert changed.status_code == 200
    # At once: the session already held stops working, and the provider cannot sign them in.
    me = httpx.get(
        f"{setup.node.base_url}/auth/me", headers={"Authorization": f"Bearer {old_token}"}
    )
    assert me.status_code == 401
    _, again = sign_in(setup, "u-1005")
    assert again.status_code == 401
    assert ("deny", "disabled account (identity provider)") in [
        (e["decision"], e["reason"]) for e in login_entries(setup)
    ]


def test_auditor_who_is_this_names_a_provider_account_in_words(setup: Setup) -> None:
    person, _ = sign_in(setup, "u-1001")
    me = httpx.get(
        f"{setup.node.base_url}/auth/me",
        headers={"Authorization": f"Bearer {person.cookies['joinedup_staff']}"},
    ).json()
    auditor, _ = sign_in(setup, "u-1002")
    page = auditor.get("/ui/audit")
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert csrf
    who = auditor.post(
        "/ui/audit/who",
        data={"csrf_token": csrf.group(1), "pseudonym": me["pseudonym"]},
        headers={"Origin": setup.node.base_url},
    )
    assert who.status_code == 200
    assert "That staff member is <strong>Amira Khan</strong>" in who.text
    assert "signs in through your organisation's own sign-in" in who.text
    assert "idp:" not in who.text

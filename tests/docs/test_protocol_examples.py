"""docs/protocol.md cannot drift from the code: its examples are re-run and re-verified.

The generator (docs/examples/protocol_examples.py) must run; every signed action the
apps serve must be documented with its endpoint and shown as a worked example; and
every token the page prints must verify with the project's own functions — the
registry under the printed authority key, each request as its receiver checks it
(plus the receiving endpoint's body schema), the consent token, each sealed answer
opened with the requester's example key and equal to the body the page shows, and
each audit answer's tree head and inclusion proofs.
"""

from __future__ import annotations

import functools
import importlib.util
import inspect
import json
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute
from nacl.signing import VerifyKey
from pydantic import BaseModel

from consent.config import ConsentSettings
from consent.consents.schemas import ConsentCreate, RevokeRequest
from consent.customers.schemas import CustomerCreate, CustomerRecover
from consent.main import create_app as create_consent_app
from consent.notices.schemas import NoticeCreate
from consent.subjects.schemas import EnrolRequest
from consent.tokens.schemas import ConsentTokenRequest
from federation.consent_token import verify_consent_token
from federation.enrolment import ENROLMENT_TYP, verify_enrolment_statement
from federation.envelope import ReplayCache, open_response, verify_request
from federation.errors import PeerSignatureInvalid
from federation.jose import read_unverified_claims, read_unverified_header
from federation.keys import b64decode
from federation.registry import Registry, verify_registry
from federation.share_schema import (
    LINK_ACTION,
    SHARE_ACTION,
    LinkRequestBody,
    ShareRequestBody,
)
from federation.tree_head import (
    SUBJECT_REPORT_ACTION,
    TRACE_ACTION,
    check_proven_entries,
    verify_tree_head,
)
from federation.wire import actions, message_for
from federation.wire.audit import AuditSubjectReport, AuditTrace
from federation.wire.consent_change import ConsentGranted
from federation.wire.evidence import AggregateContribute, AggregateJoin
from federation.wire.guide import GuideAnnounce
from federation.wire.referral import ReferralOffer, ReferralStatus
from node.config import NodeSettings
from node.links.flows import ENROL_ACTION
from node.main import create_app as create_node_app
from node.revocations.schemas import RevocationPush
from node.views.service import CONSENT_TOKEN_ACTION

ROOT = Path(__file__).resolve().parents[2]
GENERATOR = ROOT / "docs" / "examples" / "protocol_examples.py"
DOC = ROOT / "docs" / "protocol.md"
BEGIN, END = "<!-- examples:begin -->", "<!-- examples:end -->"
JWS = re.compile(r"eyJ[A-Za-z0-9_-]+\.eyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+")
JSON_BLOCK = re.compile(r"```json\n(.*?)\n```", re.DOTALL)
AUTHORITY = re.compile(r"`authority_verify_key`\): `([A-Za-z0-9_-]+)`")

# What each receiving endpoint validates a request's body with (taken from the
# routers, independently of the generator).
RECEIVER_BODY: dict[str, type[BaseModel]] = {
    "enrol": EnrolRequest,
    "create_customer": CustomerCreate,
    "recover_customer": CustomerRecover,
    "grant": ConsentCreate,
    "consent_token": ConsentTokenRequest,
    "revoke_consent": RevokeRequest,
    "link": LinkRequestBody,
    "share": ShareRequestBody,
    "revoke": RevocationPush,
    "consent_granted": ConsentGranted,
    "guide_announce": GuideAnnounce,
    "audit_trace": AuditTrace,
    "audit_subject_report": AuditSubjectReport,
    "notify_customer": NoticeCreate,
    "aggregate_join": AggregateJoin,
    "aggregate_contribute": AggregateContribute,
    "refer": ReferralOffer,
    "referral_status": ReferralStatus,
}


@functools.cache
def _example_keys() -> ModuleType:
    """docs/examples/example_federation.py, for the example members' private keys."""
    path = GENERATOR.parent / "example_federation.py"
    spec = importlib.util.spec_from_file_location("example_federation", path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclass resolves annotations through it
    spec.loader.exec_module(module)
    return module


def _run_generator(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(GENERATOR), *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        cwd=ROOT,
    )


def _examples_region(text: str) -> str:
    _, found, rest = text.partition(BEGIN)
    assert found, "docs/protocol.md lost its examples markers"
    region, found, _ = rest.partition(END)
    assert found, "docs/protocol.md lost its examples end marker"
    return region


def _decoded(token: str) -> dict[str, Any]:
    return {"header": read_unverified_header(token), "claims": read_unverified_claims(token)}


def verify_examples(text: str) -> dict[str, list[dict[str, Any]]]:
    """Verify every token in ``text``; the verified claims by ``typ`` (raises on a bad one)."""
    blocks = [json.loads(b) for b in JSON_BLOCK.findall(text)]
    registries = [b for b in blocks if set(b) == {"registry", "signature"}]
    assert len(registries) == 1, "exactly one signed registry example"
    authority = AUTHORITY.search(text)
    assert authority is not None, "the authority verify key is printed"
    registry: Registry = verify_registry(registries[0], VerifyKey(b64decode(authority[1])))
    keys = _example_keys()
    cache = ReplayCache()
    cache.not_before = 0  # the examples are in the past
    tokens = list(dict.fromkeys(JWS.findall(text)))
    verified: dict[str, list[dict[str, Any]]] = {}
    for token in tokens:
        typ = read_unverified_header(token)["typ"]
        claims = read_unverified_claims(token)
        if typ == "joinedup-registry+jwt":
            assert token == registries[0]["signature"]
        elif typ == "joinedup-request+jwt":
            request = verify_request(
                token,
                registry=registry,
                audience=claims["aud"],
                replay_cache=cache,
                expected_action=claims["act"],
                now=claims["iat"] + 1,
            )
            RECEIVER_BODY[request.action].model_validate(request.body)
            message_for(request.action).from_body(request.body)
        elif typ == "joinedup-consent+jwt":
            verify_consent_token(
                token,
                verify_keys=registry.verify_keys("consent"),
                requester=claims["aud"],
                subject_id=claims["sub"],
                purpose=claims["purpose"],
                now=claims["iat"] + 1,
            )
        elif typ == "joinedup-response+jwt":
            opened = open_response(
                token,
                registry=registry,
                keys=keys.seeded_keys(claims["aud"]),
                me=claims["aud"],
                expected_issuer=claims["iss"],
                request_id=claims["request_id"],
                now=claims["iat"] + 1,
            )
            assert opened in blocks, f"the page does not show what {claims['iss']} sealed"
            if "tree_head" in opened:
                entries = check_proven_entries(
                    opened, registry.verify_keys(claims["iss"]), org_id=claims["iss"]
                )
                assert entries, "an audit answer example proves at least one entry"
        elif typ == "joinedup-sth+jwt":
            verify_tree_head(token, registry.verify_keys(claims["iss"]), org_id=claims["iss"])
        elif typ == ENROLMENT_TYP:
            verify_enrolment_statement(
                token,
                registry=registry,
                subject_id=claims["sub"],
                requester=claims["aud"],
                linkage_tokens=claims["tokens"],
                now=claims["iat"] + 1,
            )
        else:
            pytest.fail(f"a token of unknown typ {typ!r} in the examples")
        if typ in (
            "joinedup-request+jwt",
            "joinedup-response+jwt",
            "joinedup-consent+jwt",
            ENROLMENT_TYP,
        ):
            assert _decoded(token) in blocks, f"a {typ} is printed without its decoded form"
        verified.setdefault(typ, []).append(claims)
    shown = {json.dumps(b, sort_keys=True) for b in blocks if set(b) == {"header", "claims"}}
    printed = {json.dumps(_decoded(t), sort_keys=True) for t in tokens}
    assert shown <= printed, "a decoded header/claims block matches no printed token"
    jtis = {c["jti"] for c in verified.get("joinedup-request+jwt", [])}
    for answer in verified.get("joinedup-response+jwt", []):
        assert answer["request_id"] in jtis, "a sealed answer answers no printed request"
    return verified


# -- the signed actions the apps actually serve -------------------------------------------


def _api_routes(routes: Any) -> Iterator[APIRoute]:
    for route in routes:
        inner = getattr(route, "original_router", None)  # FastAPI's lazily included router
        if inner is not None:
            yield from _api_routes(inner.routes)
        elif isinstance(route, APIRoute):
            yield route


def _dependency_actions(dependant: Dependant) -> set[str]:
    """Actions closed over by ``verified_request(action)`` / ``SignedBy(action)``."""
    found: set[str] = set()
    stack = [dependant]
    while stack:
        current = stack.pop()
        if current.call is not None and getattr(current.call, "__closure__", None):
            action = inspect.getclosurevars(current.call).nonlocals.get("action")
            if isinstance(action, str):
                found.add(action)
        stack.extend(current.dependencies)
    return found


@pytest.fixture(scope="module")
def served_actions(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """``act`` → path of every endpoint that admits a signed request, node and consent."""
    data = tmp_path_factory.mktemp("apps")
    apps: list[FastAPI] = [
        create_node_app(NodeSettings(org_id="gp", data_dir=data / "node", log_json=False)),
        create_consent_app(ConsentSettings(data_dir=data / "consent", demo=True)),
    ]
    served: dict[str, str] = {}
    for app in apps:
        for route in _api_routes(app.routes):
            for action in _dependency_actions(route.dependant):
                assert action not in served, f"two endpoints serve {action!r}"
                assert route.methods == {"POST"}
                served[action] = route.path
    return served


@pytest.fixture(scope="module")
def doc_text() -> str:
    return DOC.read_text()


@pytest.fixture(scope="module")
def printed() -> str:
    result = _run_generator("--stdout")
    assert result.returncode == 0, result.stderr
    return result.stdout


def _action_table(doc: str) -> dict[str, str]:
    """The rows of the 'Every action' table: ``act`` → the whole row."""
    section = doc.split("### Every action", 1)[1].split("\n### ", 1)[0]
    rows = [line for line in section.splitlines() if line.startswith("| `")]
    table = {re.match(r"\| `([a-z_]+)`", row)[1]: row for row in rows}  # type: ignore[index]
    table.pop("act", None)  # the header row
    return table


def test_generator_prints_examples_that_verify(printed: str) -> None:
    verified = verify_examples(printed)
    assert {c["act"] for c in verified["joinedup-request+jwt"]} == set(RECEIVER_BODY)
    # share, referral acknowledgement, trace, subject report, evidence contribution
    assert len(verified["joinedup-response+jwt"]) == 5


def test_generator_rewrites_only_the_examples_region(tmp_path: Path, doc_text: str) -> None:
    copy = tmp_path / "protocol.md"
    copy.write_text(doc_text)
    result = _run_generator("--doc", str(copy))
    assert result.returncode == 0, result.stderr
    rewritten = copy.read_text()
    assert rewritten.split(BEGIN)[0] == doc_text.split(BEGIN)[0]
    assert rewritten.split(END)[1] == doc_text.split(END)[1]
    verify_examples(_examples_region(rewritten))


def _masked(region: str) -> str:
    # What legitimately changes between runs: sealed boxes (fresh ephemeral keys) and
    # the consent token's random id, hence every token that embeds them.
    region = JWS.sub("<JWS>", region)
    region = re.sub(r'"sealed": "[^"]+"', '"sealed": "<box>"', region)
    return re.sub(r'"jti": "(?!req_)[^"]+"', '"jti": "<random>"', region)


def test_committed_examples_are_what_the_code_generates_now(printed: str, doc_text: str) -> None:
    committed = _examples_region(doc_text).strip("\n")
    assert _masked(committed) == _masked(printed.strip("\n")), (
        "docs/protocol.md's examples are stale: run .venv/bin/python "
        "docs/examples/protocol_examples.py"
    )


def test_committed_examples_verify_with_the_project_code(doc_text: str) -> None:
    verified = verify_examples(_examples_region(doc_text))
    assert set(verified) == {
        "joinedup-registry+jwt",
        "joinedup-request+jwt",
        "joinedup-consent+jwt",
        "joinedup-response+jwt",
        "joinedup-sth+jwt",
        ENROLMENT_TYP,
    }


def test_every_served_action_is_documented_and_exemplified(
    served_actions: dict[str, str], doc_text: str
) -> None:
    constants = {
        SHARE_ACTION,
        LINK_ACTION,
        TRACE_ACTION,
        SUBJECT_REPORT_ACTION,
        ENROL_ACTION,
        CONSENT_TOKEN_ACTION,
    }
    assert constants <= set(served_actions), "an action constant has no endpoint"
    table = _action_table(doc_text)
    assert set(table) == set(served_actions), "the action table lists other actions"
    examples = verify_examples(_examples_region(doc_text))["joinedup-request+jwt"]
    exemplified = {c["act"] for c in examples}
    for action, path in served_actions.items():
        assert f"`{action}`" in doc_text
        assert f"`POST {path}`" in table[action], f"{action}: the table names another path"
        assert action in exemplified, f"{action}: no worked example"
        assert re.search(rf"^### .*\(`{action}`\)$", doc_text, re.MULTILINE)
        assert re.search(rf"`POST https://[^ ]+{re.escape(path)}`", doc_text)


def test_a_tampered_request_fails_verification(doc_text: str) -> None:
    region = _examples_region(doc_text)
    request = next(
        t for t in JWS.findall(region) if read_unverified_header(t)["typ"] == "joinedup-request+jwt"
    )
    head, payload, signature = request.split(".")
    flipped = "B" if signature[10] != "B" else "C"
    forged = f"{head}.{payload}.{signature[:10]}{flipped}{signature[11:]}"
    with pytest.raises(PeerSignatureInvalid):
        verify_examples(region.replace(request, forged))


def test_an_edited_sealed_body_is_caught(doc_text: str) -> None:
    region = _examples_region(doc_text)
    edited = region.replace('"what": "Diabetes review"', '"what": "Something else"', 1)
    assert edited != region
    with pytest.raises(AssertionError, match="does not show what gp sealed"):
        verify_examples(edited)


def test_every_served_action_has_one_wire_model_its_receiver_reads_with(
    served_actions: dict[str, str],
) -> None:
    """Sender and receiver share one definition: the receiver's schema is the model."""
    missing = set(served_actions) - set(actions())
    assert not missing, f"served actions without a federation.wire model: {sorted(missing)}"
    for action, schema in RECEIVER_BODY.items():
        assert issubclass(schema, message_for(action)), f"{action}: the receiver reads another type"

"""The view's side calls: the consent token (never fatal) and its audit entry (fail closed)."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime

import httpx
import pytest
import sqlalchemy as sa
from sqlmodel import Session, select

from federation.consent_token import ConsentProvisionClaim, issue_consent_token
from federation.fanout import SourceResult
from federation.keys import MemberKeys
from federation.registry import Member, new_document, sign_registry, verify_registry
from federation.view import ConsentState, assemble_view, load_interactions
from node.audit.models import AuditEntry
from node.auth.dependencies import StaffPrincipal
from node.db import make_engine
from node.views.exceptions import AuditUnavailable
from node.views.service import obtain_consent_token, record_view_audit

ME = "council"
SUBJECT = "sub_views_1"
KEYS = {org: MemberKeys.generate() for org in (ME, "consent")}


def _member(org: str, kind: str) -> Member:
    return Member(
        org_id=org,
        name=org.title(),
        kind=kind,  # type: ignore[arg-type]
        base_url=f"http://{org}.invalid",
        verify_keys=[KEYS[org].verify_key_b64],
        encryption_key=KEYS[org].public_key_b64,
    )


AUTHORITY = MemberKeys.generate()
REGISTRY = verify_registry(
    sign_registry(
        new_document("t", 1, [_member(ME, "council"), _member("consent", "consent_service")]),
        AUTHORITY.signing_key,
    ),
    AUTHORITY.verify_key,
)
STAFF = StaffPrincipal(staff_id=1, username="c", role="coordinator", pseudonym="stf_1", org_id=ME)


def consent_token(provisions: int, *, keys: MemberKeys | None = None) -> str:
    return issue_consent_token(
        keys=keys or KEYS["consent"],
        subject_id=SUBJECT,
        requester=ME,
        purpose="care_coordination",
        provisions=[
            ConsentProvisionClaim(
                consent_id=f"cns_{i}",
                purposes=["care_coordination"],
                recipients=[ME],
                categories=["housing"],
                actions=["read"],
            )
            for i in range(provisions)
        ],
    )


async def obtain(handler, timeout_s: float = 1.0, subject_id: str = SUBJECT):
    async with httpx.AsyncClient(transport=httpx.MockTransport(handler)) as client:
        return await obtain_consent_token(
            client=client,
            registry=REGISTRY,
            keys=KEYS[ME],
            me=ME,
            subject_id=subject_id,
            purpose="care_coordination",
            timeout_s=timeout_s,
        )


def answer(status: int, body: dict):
    def handler(request: httpx.Request) -> httpx.Response:
        assert request.url.path == "/federation/consent-token"
        assert "request" in json.loads(request.content)
        return httpx.Response(status, json=body)

    return handler


async def test_a_token_with_provisions_is_obtained():
    token = consent_token(2)
    outcome = await obtain(answer(200, {"token": token, "expires_at": 0}))
    assert (outcome.token, outcome.status, outcome.reason) == (token, "obtained", None)


async def test_a_token_without_provisions_is_sent_but_reported_as_no_consent():
    token = consent_token(0)
    outcome = await obtain(answer(200, {"token": token, "expires_at": 0}))
    assert (outcome.token, outcome.status) == (token, "no_consent")


@pytest.mark.parametrize(
    ("handler", "status"),
    [
        (answer(404, {"title": "Not found"}), "no_consent"),
        (answer(500, {"title": "boom"}), "unavailable"),
        (answer(200, {"token": "not-a-jwt"}), "unavailable"),
        (answer(200, {"nothing": "here"}), "unavailable"),
    ],
)
async def test_anything_but_a_good_token_sends_an_empty_one(handler, status):
    outcome = await obtain(handler)
    assert (outcome.token, outcome.status) == ("", status)
    assert outcome.reason


async def test_an_id_the_consent_service_never_issues_is_not_asked_about():
    def never(request: httpx.Request) -> httpx.Response:
        raise AssertionError("no consent-token request for a malformed subject id")

    outcome = await obtain(never, subject_id="0")
    assert (outcome.token, outcome.status) == ("", "no_consent")


async def test_a_token_signed_by_someone_else_is_not_used():
    forged = consent_token(1, keys=MemberKeys.generate())
    outcome = await obtain(answer(200, {"token": forged}))
    assert (outcome.token, outcome.status) == ("", "unavailable")


async def test_an_unreachable_or_slow_consent_service_is_unavailable():
    def refuse(request):
        raise httpx.ConnectError("refused", request=request)

    async def hang(request):
        await asyncio.sleep(30)

    assert (await obtain(refuse)).status == "unavailable"
    loop = asyncio.get_running_loop()
    started = loop.time()
    outcome = await obtain(hang, timeout_s=0.2)
    assert outcome.status == "unavailable"
    assert loop.time() - started < 0.2 + 5  # bounded by the timeout, generous slack


def a_view(statuses: dict[str, str]):
    body = {
        "org_id": "gp",
        "org_name": "Gp",
        "org_kind": "gp",
        "subject_id": SUBJECT,
        "known": True,
        "decision": {"allow": True, "categories": ["physical_health"]},
        "needs": [
            {
                "ref": "gp:need:1",
                "category": "physical_health",
                "description": "d",
                "severity": "high",
                "status": "open",
            }
        ],
    }
    results = [
        SourceResult(
            org_id=org,
            org_name=org,
            org_kind="gp",
            status=status,
            latency_ms=1.0,
            body=body if status == "ok" else None,
        )
        for org, status in statuses.items()
    ]
    return assemble_view(
        subject_id=SUBJECT,
        purpose="care_coordination",
        view_id="view_test_1",
        results=results,
        interactions=load_interactions(),
        consent=ConsentState(status="obtained"),
        now=datetime.now(UTC),
    )


def test_the_view_is_audited_with_what_was_shown(db_engine):
    view = a_view({"gp": "ok", "police": "unavailable"})
    record_view_audit(engine=db_engine, org_id=ME, staff=STAFF, view=view, requested_categories=[])
    with Session(db_engine) as session:
        entry = session.exec(select(AuditEntry).where(AuditEntry.request_id == "view_test_1")).one()
    assert (entry.kind, entry.decision, entry.actor_staff, entry.actor_role) == (
        "view_requested",
        "allow",
        "stf_1",
        "coordinator",
    )
    assert entry.categories == ["physical_health"]
    assert "gp=ok" in entry.reason
    assert "police=unavailable" in entry.reason


def test_a_view_from_which_nothing_came_is_audited_as_denied(db_engine):
    view = a_view({"gp": "denied"}).model_copy(update={"view_id": "view_test_2"})
    record_view_audit(
        engine=db_engine, org_id=ME, staff=STAFF, view=view, requested_categories=["housing"]
    )
    with Session(db_engine) as session:
        entry = session.exec(select(AuditEntry).where(AuditEntry.request_id == "view_test_2")).one()
    assert entry.decision == "deny"
    assert entry.categories == []


def test_a_view_that_cannot_be_audited_is_not_released(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path}/empty.db")  # no audit tables
    try:
        with pytest.raises(AuditUnavailable):
            record_view_audit(
                engine=engine,
                org_id=ME,
                staff=STAFF,
                view=a_view({"gp": "ok"}),
                requested_categories=[],
            )
        with engine.connect() as connection:
            tables = sa.inspect(connection).get_table_names()
        assert "audit_entry" not in tables
    finally:
        engine.dispose()

"""Audit across a real federation on loopback: request traces and customer reports.

Two nodes with signed registry and keys (``tests.fixtures.federation``). Entries are
written with ``record_audit`` as the share and view code would; the trace is asked
through the council auditor's API, the subject report as the consent service would
ask it; every entry that comes back is checked against the answering node's signed
tree head with ``federation.tree_head`` alone.
"""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from federation.errors import PeerSignatureInvalid
from federation.keys import MemberKeys
from federation.registry import CONSENT_SERVICE_ID
from federation.tree_head import (
    check_proven_entries,
    collect_proven_entries,
    subject_access_report,
)
from federation.wire.audit import AuditSubjectReport
from node.audit.flows import SUBJECT_REPORT_ACTION, TRACE_ACTION
from node.audit.service import record_audit
from tests.fixtures.federation import RunningFederation, start_federation

pytestmark = pytest.mark.e2e

ORGS = [("council", "council", "Riverside Council"), ("gp", "gp", "Riverside GP")]
VIEW = "view-0123456789abcdef"
GRACE = "subj-grace-000001"
THOMAS = "subj-thomas-00002"


@pytest.fixture(scope="module")
def fed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningFederation]:
    with start_federation(tmp_path_factory.mktemp("fed"), ORGS, consent=False) as running:
        with running.session("council") as session:
            record_audit(
                session=session,
                kind="view_requested",
                request_id=VIEW,
                actor_org="council",
                actor_staff="stf-a",
                actor_role="coordinator",
                subject_id=GRACE,
                purpose="care_coordination",
                action="read",
                categories=["housing"],
            )
        with running.session("gp") as session:
            record_audit(
                session=session,
                kind="share_decided",
                request_id=VIEW,
                actor_org="council",
                actor_staff="stf-a",
                actor_role="coordinator",
                subject_id=GRACE,
                purpose="care_coordination",
                action="read",
                categories=["physical_health"],
                holder_org="gp",
            )
            # Same request id but concerning another organisation: never shown to council.
            record_audit(
                session=session,
                kind="referral",
                request_id=VIEW,
                actor_org="police",
                subject_id=GRACE,
                purpose="safeguarding",
                holder_org="gp",
            )
            record_audit(
                session=session,
                kind="share_decided",
                request_id="view-other-0000001",
                actor_org="council",
                subject_id=THOMAS,
                purpose="care_coordination",
                decision="deny",
                holder_org="gp",
            )
        yield running


def test_an_auditor_traces_a_view_across_every_node_it_touched(fed: RunningFederation) -> None:
    token = fed.staff_token("council", "audrey", "auditor")
    response = httpx.get(
        f"{fed.url('council')}/audit/trace/{VIEW}",
        headers={"Authorization": f"Bearer {token}"},
        timeout=15,
    )
    assert response.status_code == 200, response.text
    sections = {s["org_id"]: s for s in response.json()["sections"]}
    assert sections.keys() == {"council", "gp"}
    assert all(s["status"] == "ok" for s in sections.values()), sections
    assert [e["kind"] for e in sections["council"]["entries"]] == ["view_requested"]
    gp_entries = sections["gp"]["entries"]
    assert [(e["kind"], e["categories"]) for e in gp_entries] == [
        ("share_decided", ["physical_health"])
    ]
    assert {e["request_id"] for e in gp_entries} == {VIEW}


def test_a_frontline_worker_cannot_trace(fed: RunningFederation) -> None:
    token = fed.staff_token("council", "frank", "frontline")
    response = httpx.get(
        f"{fed.url('council')}/audit/trace/{VIEW}",
        headers={"Authorization": f"Bearer {token}"},
        timeout=15,
    )
    assert response.status_code == 403


def test_partner_traces_need_an_auditor_and_a_single_request_id(fed: RunningFederation) -> None:
    for body in ({"request_id": VIEW, "staff_role": "frontline"}, {"staff_role": "auditor"}):
        signed = fed.sign("council", "gp", TRACE_ACTION, body)
        assert fed.post("gp", "/federation/audit/trace", signed).status_code == 403, body


TRACE_PATH, REPORT_PATH = "/federation/audit/trace", "/federation/audit/subject-report"


@pytest.mark.parametrize(
    ("issuer", "path", "action", "body"),
    [
        ("council", TRACE_PATH, TRACE_ACTION, {"request_id": 5}),
        ("council", TRACE_PATH, TRACE_ACTION, {"request_id": VIEW, "staff_role": ""}),
        ("council", TRACE_PATH, TRACE_ACTION, {"request_id": VIEW, "staff_role": 7}),
        (CONSENT_SERVICE_ID, REPORT_PATH, SUBJECT_REPORT_ACTION, {"subject_id": [GRACE]}),
    ],
)
def test_an_audit_query_whose_body_does_not_fit_its_model_is_a_422_problem(
    fed: RunningFederation, issuer: str, path: str, action: str, body: object
) -> None:
    response = fed.post("gp", path, fed.sign(issuer, "gp", action, body))
    assert response.status_code == 422, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.json()["detail"].startswith(f"{action}: ")


def test_the_consent_service_gets_one_customers_entries_with_proofs(
    fed: RunningFederation,
) -> None:
    jti = "report-req-0000000000001"
    signed = fed.sign(
        CONSENT_SERVICE_ID, "gp", SUBJECT_REPORT_ACTION, {"subject_id": GRACE}, request_id=jti
    )
    response = fed.post("gp", "/federation/audit/subject-report", signed)
    assert response.status_code == 200, response.text
    body = fed.open(
        requester=CONSENT_SERVICE_ID,
        responder="gp",
        response_token=response.json()["response"],
        request_id=jti,
    )
    entries = check_proven_entries(body, fed.registry.verify_keys("gp"), org_id="gp")
    assert {e["subject_id"] for e in entries} == {GRACE}
    assert {e["actor_org"] for e in entries} == {"council", "police"}
    # Tampering with what came back is caught by the proofs.
    body["entries"][0]["entry"]["purpose"] = "marketing"
    with pytest.raises(PeerSignatureInvalid, match="fails its proof"):
        check_proven_entries(body, fed.registry.verify_keys("gp"), org_id="gp")


def test_only_the_consent_service_may_ask_for_a_customer_report(fed: RunningFederation) -> None:
    signed = fed.sign("council", "gp", SUBJECT_REPORT_ACTION, {"subject_id": GRACE})
    response = fed.post("gp", "/federation/audit/subject-report", signed)
    assert response.status_code == 403


async def test_a_customers_access_report_is_assembled_from_every_node(
    fed: RunningFederation,
) -> None:
    """What the consent service runs for its portal page (consent/main.py)."""
    async with httpx.AsyncClient() as client:
        report = await subject_access_report(
            client=client,
            registry=fed.registry,
            keys=fed.prepared.keys[CONSENT_SERVICE_ID],
            me=CONSENT_SERVICE_ID,
            subject_id=GRACE,
            deadline_s=10,
        )
    assert report.complete
    seen = sorted((item["logged_by"], item["kind"], item["org_id"]) for item in report.entries)
    assert seen == [
        ("council", "view_requested", "council"),
        ("gp", "referral", "police"),
        ("gp", "share_decided", "council"),
    ]
    assert all(item["proof_ok"] is True for item in report.entries)
    assert all(item["subject_id"] == GRACE for item in report.entries)


async def test_a_report_from_forged_keys_keeps_nothing(fed: RunningFederation) -> None:
    """Signed with a key the registry does not list: every node refuses, nothing shows."""
    async with httpx.AsyncClient() as client:
        sections = await collect_proven_entries(
            client=client,
            registry=fed.registry,
            keys=MemberKeys.generate(),
            me=CONSENT_SERVICE_ID,
            message=AuditSubjectReport(subject_id=GRACE),
            deadline_s=10,
        )
    assert {(s.org_id, s.status) for s in sections} == {
        ("council", "refused"),
        ("gp", "refused"),
    }
    assert all(s.entries == [] for s in sections)

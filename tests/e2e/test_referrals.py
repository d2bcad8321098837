"""Referrals between real processes: council refers to a refuge, and the loop closes.

The consent service, a council node and a refuge (a charity) run as real uvicorn
processes with a short outbox backoff, so a referral sent while the refuge is down
arrives within seconds of its return. Staff act through the JSON API
(``/api/referrals``); the databases are read only to count what each end holds.

- refer → the refuge acknowledges, accepts (naming a worker) and completes; the
  council sees every status and the whole history, both ends audit each step under
  the referral id, and no raw identifier left the council;
- the refuge is stopped while a referral is sent: it is delivered after the restart,
  exactly once (one inbox item, one receipt, one audit entry);
- without consent the refuge's policy refuses: the council sees "declined by
  policy" and the refuge holds no referral;
- a replayed signed offer is refused (409); a resend of the same referral under a
  new request id is answered with the same acknowledgement and adds nothing.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
from sqlmodel import func, select

from federation.envelope import new_request_id, sign_request
from federation.linkage import linkage_tokens
from federation.wire.referral import (
    ReferralAcknowledgement,
    ReferralOffer,
    ReferralRequester,
)
from joinedup.localfed import NODE_FACTORY
from node.audit.models import AuditEntry
from node.outbox.models import DeliveryReceipt, OutboxMessage
from node.referrals.models import Referral
from tests.e2e.test_view import readable
from tests.fixtures.federation import RunningFederation, start_federation
from tests.fixtures.servers import ServerSpec, launch, wait_ready

pytestmark = pytest.mark.e2e

ORGS = [("council", "council", "Riverside Council"), ("refuge", "charity", "Riverside Refuge")]
FAST_OUTBOX = {
    "JOINEDUP_NODE_OUTBOX_BACKOFF_BASE_S": "0.2",
    "JOINEDUP_NODE_OUTBOX_BACKOFF_CAP_S": "1.0",
    "JOINEDUP_NODE_OUTBOX_LEASE_S": "3",
    "JOINEDUP_NODE_OUTBOX_POLL_S": "0.2",
    "JOINEDUP_NODE_OUTBOX_TIMEOUT_S": "2",
    "JOINEDUP_NODE_OUTBOX_MAX_ATTEMPTS": "1000",
}
BIRTH = dt.date(1988, 6, 14)
POSTCODE = "RV4 7QT"


@pytest.fixture(scope="module")
def fed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningFederation]:
    root = tmp_path_factory.mktemp("referrals-e2e")
    with start_federation(root, ORGS, consent=True, extra_env=FAST_OUTBOX, traffic_log=True) as f:
        yield f


@pytest.fixture(scope="module")
def http() -> Iterator[httpx.Client]:
    with httpx.Client(timeout=30) as client:
        yield client


def wait_for(check: Callable[[], Any], timeout_s: float = 30.0) -> Any:
    deadline = time.monotonic() + timeout_s
    value = check()
    while not value and time.monotonic() < deadline:
        time.sleep(0.1)
        value = check()
    assert value, "condition not reached in time"
    return value


def person(fed: RunningFederation, family_name: str, *, consent: bool, at_refuge: bool) -> str:
    """A person recorded and enrolled at the council (and perhaps known at the refuge)."""
    person_id = fed.add_person(
        "council",
        family_name=family_name,
        given_name="Morgan",
        date_of_birth=BIRTH,
        postcode=POSTCODE,
    )
    if at_refuge:
        fed.add_person(
            "refuge",
            family_name=family_name,
            given_name="Morgan",
            date_of_birth=BIRTH,
            postcode=POSTCODE,
        )
    tokens = linkage_tokens(
        key=fed.linkage_key,
        family_name=family_name,
        given_name="Morgan",
        date_of_birth=BIRTH,
        postcode=POSTCODE,
    )
    enrolled = fed.post(
        "consent",
        "/federation/enrol",
        fed.sign("council", "consent", "enrol", {"linkage_tokens": tokens}),
    )
    assert enrolled.status_code == 200, enrolled.text
    subject_id = str(enrolled.json()["subject_id"])
    fed.link("council", subject_id, person_id)
    if consent:
        grant = {
            "subject_id": subject_id,
            "grantor_kind": "customer",
            "provisions": [
                {
                    "purposes": ["referral"],
                    "recipients": ["council"],
                    "categories": ["victim_support"],
                    "actions": ["refer"],
                }
            ],
        }
        made = fed.post(
            "consent", "/federation/grants", fed.sign("council", "consent", "grant", grant)
        )
        assert made.status_code == 201, made.text
    return subject_id


def api(
    fed: RunningFederation,
    http: httpx.Client,
    org_id: str,
    method: str,
    path: str,
    role: str = "coordinator",
    **kwargs: Any,
) -> httpx.Response:
    token = fed.staff_token(org_id, f"{role}-{org_id}", role)
    return http.request(
        method,
        f"{fed.url(org_id)}/api/referrals{path}",
        headers={"Authorization": f"Bearer {token}"},
        **kwargs,
    )


def refer(fed: RunningFederation, http: httpx.Client, subject_id: str) -> str:
    sent = api(
        fed,
        http,
        "council",
        "POST",
        "",
        role="frontline",
        json={
            "subject_id": subject_id,
            "to_org": "refuge",
            "category": "victim_support",
            "purpose": "referral",
            "urgency": "urgent",
            "reason": "Left an abusive home last night and needs a safe place.",
            "person_told": "That the refuge will contact her today.",
        },
    )
    assert sent.status_code == 201, sent.text
    assert sent.json()["state"] == "sending"
    return str(sent.json()["id"])


def state_at(fed: RunningFederation, http: httpx.Client, org_id: str, referral_id: str) -> str:
    detail = api(fed, http, org_id, "GET", f"/{referral_id}")
    return str(detail.json()["referral"]["state"]) if detail.status_code == 200 else ""


def audit_kinds(fed: RunningFederation, org_id: str, referral_id: str) -> list[str]:
    with fed.session(org_id) as session:
        rows = session.exec(
            select(AuditEntry).where(AuditEntry.request_id == referral_id).order_by(AuditEntry.seq)
        ).all()
        return [row.kind for row in rows]


def test_refer_accept_complete_and_the_council_sees_each_status(
    fed: RunningFederation, http: httpx.Client
) -> None:
    subject_id = person(fed, "Lindqvist", consent=True, at_refuge=True)
    referral_id = refer(fed, http, subject_id)
    wait_for(lambda: state_at(fed, http, "council", referral_id) == "received")

    inbox = api(fed, http, "refuge", "GET", "/inbox").json()
    (item,) = [r for r in inbox["data"] if r["id"] == referral_id]
    assert item["partner_org"] == "council"
    assert item["contact"] == "not_needed"  # the refuge knows her by her linkage tokens
    assert item["next_states"] == ["accepted", "declined", "more_info_requested"]

    accepted = api(
        fed,
        http,
        "refuge",
        "POST",
        f"/{referral_id}/transitions",
        json={"to_state": "accepted", "worker": "Priya Shah"},
    )
    assert accepted.status_code == 200, accepted.text
    wait_for(lambda: state_at(fed, http, "council", referral_id) == "accepted")
    again = api(
        fed,
        http,
        "refuge",
        "POST",
        f"/{referral_id}/transitions",
        json={"to_state": "accepted", "worker": "Priya Shah"},
    )
    assert again.status_code == 409
    assert again.headers["content-type"].startswith("application/problem+json")

    completed = api(
        fed,
        http,
        "refuge",
        "POST",
        f"/{referral_id}/transitions",
        json={"to_state": "completed", "reason_code": "need_met", "note": "Safe housing found."},
    )
    assert completed.status_code == 200, completed.text
    wait_for(lambda: state_at(fed, http, "council", referral_id) == "completed")

    detail = api(fed, http, "council", "GET", f"/{referral_id}").json()
    assert detail["referral"]["assigned_worker"] == "Priya Shah"
    assert [e["to_state"] for e in detail["events"]] == [
        "sending",
        "received",
        "accepted",
        "completed",
    ]
    assert detail["events"][-1]["reason_code"] == "need_met"
    assert audit_kinds(fed, "council", referral_id) == [
        "referral_sent",
        "referral_status_received",
        "referral_status_received",
        "referral_status_received",
    ]
    assert audit_kinds(fed, "refuge", referral_id) == [
        "referral_received",
        "referral_status_sent",
        "referral_status_sent",
    ]
    # The council's auditor traces the referral id across both nodes, as a view id.
    auditor = fed.staff_token("council", "auditor-council", "auditor")
    trace = http.get(
        f"{fed.url('council')}/audit/trace/{referral_id}",
        headers={"Authorization": f"Bearer {auditor}"},
    )
    assert trace.status_code == 200, trace.text
    sections = {s["org_id"]: s for s in trace.json()["sections"]}
    assert [e["kind"] for e in sections["refuge"]["entries"]] == [
        "referral_received",
        "referral_status_sent",
        "referral_status_sent",
    ]
    lines = fed.traffic("council")
    assert any(line["url"].endswith("/federation/referrals") for line in lines)
    sent = "\n".join(readable(line["body"]) for line in lines).casefold()
    assert referral_id in sent  # the decoding works
    for spelling in ("lindqvist", "morgan", BIRTH.isoformat(), "rv4 7qt", "rv47qt"):
        assert spelling not in sent


def test_a_referral_sent_while_the_refuge_is_down_arrives_once_after_restart(
    fed: RunningFederation, http: httpx.Client
) -> None:
    subject_id = person(fed, "Abernathy", consent=True, at_refuge=False)
    old = fed.servers["refuge"]
    old.stop()
    try:
        referral_id = refer(fed, http, subject_id)

        def tried_twice() -> bool:
            with fed.session("council") as session:
                message = session.exec(
                    select(OutboxMessage).where(OutboxMessage.idempotency_key == referral_id)
                ).one()
                return message.attempts >= 2 and message.status == "pending"

        wait_for(tried_twice)
        assert state_at(fed, http, "council", referral_id) == "sending"
    finally:
        server = launch(ServerSpec("refuge", NODE_FACTORY, old.env, old.port), fed.root / "logs")
        fed.servers["refuge"] = server
        wait_ready(server, timeout=120)
    wait_for(lambda: state_at(fed, http, "council", referral_id) == "received")
    outbox = api(fed, http, "council", "GET", "/outbox").json()
    (mine,) = [r for r in outbox["data"] if r["id"] == referral_id]
    assert mine["contact"] == "needed"  # the refuge does not know her and got no details
    with fed.session("refuge") as session:
        rows = session.exec(select(Referral).where(Referral.id == referral_id)).all()
        receipts = session.exec(
            select(func.count())
            .select_from(DeliveryReceipt)
            .where(DeliveryReceipt.receipt_key == f"council:{referral_id}")
        ).one()
    assert len(rows) == 1
    assert rows[0].subject_id is None  # a person the refuge does not know
    assert receipts == 1
    assert audit_kinds(fed, "refuge", referral_id) == ["referral_received"]


def test_without_consent_the_refuge_declines_by_policy_and_keeps_nothing(
    fed: RunningFederation, http: httpx.Client
) -> None:
    subject_id = person(fed, "Okonkwo", consent=False, at_refuge=True)
    referral_id = refer(fed, http, subject_id)
    wait_for(lambda: state_at(fed, http, "council", referral_id) == "declined_by_policy")
    assert api(fed, http, "refuge", "GET", f"/{referral_id}").status_code == 404
    assert all(
        r["id"] != referral_id for r in api(fed, http, "refuge", "GET", "/inbox").json()["data"]
    )
    assert audit_kinds(fed, "refuge", referral_id) == ["referral_refused"]
    detail = api(fed, http, "council", "GET", f"/{referral_id}").json()
    assert detail["referral"]["state_label"] == "Declined by policy"
    assert detail["referral"]["next_states"] == []


def _offer(fed: RunningFederation, subject_id: str, referral_id: str) -> dict[str, Any]:
    consent = fed.post(
        "consent",
        "/federation/consent-token",
        fed.sign(
            "council", "consent", "consent_token", {"subject_id": subject_id, "purpose": "referral"}
        ),
    )
    assert consent.status_code == 200, consent.text
    return ReferralOffer(
        referral_id=referral_id,
        subject_id=subject_id,
        category="victim_support",
        purpose="referral",
        urgency="routine",
        reason="Needs advice on staying safe.",
        person_told="That the refuge may call.",
        consent_token=consent.json()["token"],
        requester=ReferralRequester(role="frontline", description="frontline"),
        sent_at=dt.datetime.now(dt.UTC),
    ).body()


def test_a_replayed_offer_is_refused_and_a_resend_adds_nothing(
    fed: RunningFederation, http: httpx.Client
) -> None:
    subject_id = person(fed, "Fairweather", consent=True, at_refuge=False)
    referral_id = "ab" * 16
    body = _offer(fed, subject_id, referral_id)

    def signed(request_id: str) -> str:
        return sign_request(
            ReferralOffer.from_body(body),
            keys=fed.prepared.keys["council"],
            issuer="council",
            audience="refuge",
            request_id=request_id,
            idempotency_key=referral_id,
        )

    first_id = new_request_id()
    token = signed(first_id)
    first = fed.post("refuge", "/federation/referrals", token)
    assert first.status_code == 200, first.text
    ack = ReferralAcknowledgement.model_validate(
        fed.open(
            requester="council",
            responder="refuge",
            response_token=first.json()["response"],
            request_id=first_id,
        )
    )
    assert ack.state == "received"
    replayed = fed.post("refuge", "/federation/referrals", token)
    assert replayed.status_code == 409
    assert replayed.json()["type"].endswith("request-replayed")

    second_id = new_request_id()
    resent = fed.post("refuge", "/federation/referrals", signed(second_id))
    assert resent.status_code == 200, resent.text
    again = ReferralAcknowledgement.model_validate(
        fed.open(
            requester="council",
            responder="refuge",
            response_token=resent.json()["response"],
            request_id=second_id,
        )
    )
    assert again == ack
    with fed.session("refuge") as session:
        assert len(session.exec(select(Referral).where(Referral.id == referral_id)).all()) == 1
    assert audit_kinds(fed, "refuge", referral_id) == ["referral_received"]


def test_more_information_then_withdrawal_and_what_the_api_refuses(
    fed: RunningFederation, http: httpx.Client
) -> None:
    subject_id = person(fed, "Castellanos", consent=True, at_refuge=True)
    referral_id = refer(fed, http, subject_id)
    wait_for(lambda: state_at(fed, http, "refuge", referral_id) == "received")

    def change(org_id: str, role: str = "coordinator", **body: Any) -> httpx.Response:
        return api(fed, http, org_id, "POST", f"/{referral_id}/transitions", role=role, json=body)

    assert change("refuge", to_state="declined").status_code == 422  # no reason given
    assert change("refuge", to_state="withdrawn").status_code == 409  # the sender's to make
    asked = change("refuge", to_state="more_info_requested", note="Is there a child with her?")
    assert asked.status_code == 200, asked.text
    wait_for(lambda: state_at(fed, http, "council", referral_id) == "more_info_requested")
    answered = change("council", role="frontline", to_state="received", note="No, she is alone.")
    assert answered.status_code == 200, answered.text
    wait_for(lambda: state_at(fed, http, "refuge", referral_id) == "received")
    assert change("council", role="frontline", to_state="withdrawn").status_code == 200
    wait_for(lambda: state_at(fed, http, "refuge", referral_id) == "withdrawn")
    notes = [e["note"] for e in api(fed, http, "refuge", "GET", f"/{referral_id}").json()["events"]]
    assert "No, she is alone." in notes

    assert api(fed, http, "refuge", "GET", "/inbox", role="auditor").status_code == 403
    assert api(fed, http, "refuge", "GET", "/not-a-referral-id").status_code == 422
    missing = api(fed, http, "refuge", "GET", f"/{'0' * 32}")
    assert missing.status_code == 404
    assert missing.headers["content-type"].startswith("application/problem+json")

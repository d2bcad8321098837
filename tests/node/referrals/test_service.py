"""The referral service at one node: sending, the state machine, lists and history.

Runs on every database backend (``db_session``). The receiver's half (offers and
status messages from a partner) is ``test_receive.py``; delivery between real nodes
is ``tests/e2e/test_referrals.py``.
"""

from __future__ import annotations

import datetime as dt
from datetime import date

import pytest
from sqlmodel import Session, select

from appkit.outbox import ClaimedMessage
from federation.linkage import LinkageKey
from federation.wire.referral import ReferralOffer, ReferralStatus
from node.audit.models import AuditEntry
from node.auth.dependencies import StaffPrincipal
from node.config import NodeSettings
from node.links.service import create_link
from node.outbox.models import OutboxMessage
from node.records.service import create_person
from node.referrals import service
from node.referrals.data import referral_vocabulary
from node.referrals.exceptions import IllegalTransition, MayNotRefer, ReferralInvalid
from node.referrals.models import Referral
from node.referrals.outbox import audit_offer_given_up
from node.referrals.schemas import ReferralForm

KEY = LinkageKey(1, b"k" * 32)
SUBJECT = "sub_referral_test_1"
MONDAY_NOON = dt.datetime(2026, 11, 30, 12, 0, tzinfo=dt.UTC)


def staff(role: str = "frontline", username: str = "alex") -> StaffPrincipal:
    return StaffPrincipal(
        staff_id=1, username=username, role=role, pseudonym="ps_" + username, org_id="council"
    )


@pytest.fixture
def settings(tmp_path: object) -> NodeSettings:
    return NodeSettings(org_id="council", org_kind="council", data_dir=tmp_path)


@pytest.fixture
def enrolled(db_session: Session) -> str:
    person = create_person(
        session=db_session,
        data={
            "family_name": "Okafor",
            "given_name": "Grace",
            "date_of_birth": date(1971, 3, 4),
            "postcode": "RV1 2AB",
        },
        linkage_key=KEY,
    )
    assert person.id is not None
    create_link(session=db_session, subject_id=SUBJECT, person_id=person.id, method="enrolment")
    return SUBJECT


FORM = ReferralForm(
    category="victim_support",
    purpose="referral",
    urgency="urgent",
    reason="Needs support after leaving an abusive home.",
    person_told="That the refuge will call her this week.",
)


def send(session: Session, settings: NodeSettings, **changes: object) -> Referral:
    return service.send_referral(
        session,
        settings=settings,
        staff=staff(),
        subject_id=SUBJECT,
        to_org="refuge",
        form=FORM.model_copy(update=changes),
        now=MONDAY_NOON,
    )


def test_sending_records_the_referral_its_offer_and_audit_entry(
    db_session: Session, settings: NodeSettings, enrolled: str
) -> None:
    referral = send(db_session, settings)
    assert referral.state == "sending"
    assert referral.direction == "outgoing"
    assert referral.respond_by == MONDAY_NOON + dt.timedelta(days=1)
    message = db_session.exec(
        select(OutboxMessage).where(OutboxMessage.idempotency_key == referral.id)
    ).one()
    assert message.kind == service.REFERRAL_OFFER
    assert message.destination == "refuge"
    offer = ReferralOffer.from_body(message.payload["offer"])
    assert offer.subject_id == SUBJECT
    assert offer.linkage_tokens
    assert all(t.startswith("v1.") for t in offer.linkage_tokens)
    assert offer.requester.role == "frontline"
    # No username and no raw identifier in what will travel.
    text = str(message.payload)
    assert "alex" not in text.replace("ps_alex", "")
    assert "Okafor" not in text
    entry = db_session.exec(select(AuditEntry).where(AuditEntry.request_id == referral.id)).one()
    assert entry.kind == "referral_sent"
    assert entry.holder_org == "refuge"


def test_a_role_outside_the_policy_data_may_not_refer(
    db_session: Session, settings: NodeSettings, enrolled: str
) -> None:
    with pytest.raises(MayNotRefer):
        service.send_referral(
            db_session,
            settings=settings,
            staff=staff(role="auditor"),
            subject_id=SUBJECT,
            to_org="refuge",
            form=FORM,
        )


def test_a_person_not_enrolled_here_cannot_be_referred(
    db_session: Session, settings: NodeSettings
) -> None:
    with pytest.raises(ReferralInvalid):
        send(db_session, settings)


def test_the_sender_may_not_accept_its_own_referral(
    db_session: Session, settings: NodeSettings, enrolled: str
) -> None:
    referral = send(db_session, settings)
    referral.state = "received"
    with pytest.raises(IllegalTransition) as caught:
        service.transition(
            db_session, referral_id=referral.id, to_state="accepted", actor=staff(), worker="Sam"
        )
    assert caught.value.status_code == 409
    referral.state = "sending"
    with pytest.raises(IllegalTransition):  # nor withdraw before the receiver has it
        service.transition(db_session, referral_id=referral.id, to_state="withdrawn", actor=staff())


def test_withdrawing_queues_a_status_for_the_partner_and_keeps_history(
    db_session: Session, settings: NodeSettings, enrolled: str
) -> None:
    referral = send(db_session, settings)
    referral.state = "received"
    db_session.add(referral)
    service.transition(
        db_session,
        referral_id=referral.id,
        to_state="withdrawn",
        actor=staff(),
        note="She has moved away.",
        now=MONDAY_NOON + dt.timedelta(hours=1),
    )
    message = db_session.exec(
        select(OutboxMessage).where(OutboxMessage.idempotency_key == f"{referral.id}:2")
    ).one()
    status = ReferralStatus.from_body(message.payload["status"])
    assert (status.to_state, status.seq) == ("withdrawn", 2)
    found, events = service.history(db_session, referral.id)
    assert found.state == "withdrawn"
    assert [(e.from_state, e.to_state) for e in events] == [
        (None, "sending"),
        ("received", "withdrawn"),
    ]
    assert service.open_referrals_about(db_session, SUBJECT) == []
    with pytest.raises(IllegalTransition):  # final
        service.transition(
            db_session, referral_id=referral.id, to_state="received", actor=staff(), note="back"
        )


def test_overdue_only_while_waiting_for_the_receiver(
    db_session: Session, settings: NodeSettings, enrolled: str
) -> None:
    referral = send(db_session, settings)
    later = referral.respond_by + dt.timedelta(minutes=1)
    assert not service.is_overdue(referral, referral.respond_by)
    assert service.is_overdue(referral, later)
    referral.state = "accepted"
    assert not service.is_overdue(referral, later)
    assert [r.id for r in service.outbox_list(db_session)] == [referral.id]
    assert service.inbox(db_session) == []


def test_working_day_targets_skip_the_weekend() -> None:
    words = referral_vocabulary()
    friday = dt.datetime(2026, 12, 4, 15, 0, tzinfo=dt.UTC)
    assert words.urgencies["urgent"].respond_by(friday) == friday + dt.timedelta(days=3)
    assert words.urgencies["routine"].respond_by(friday) == friday + dt.timedelta(days=7)
    assert words.urgencies["emergency"].respond_by(friday) == friday + dt.timedelta(hours=4)


def test_an_offer_the_outbox_gave_up_on_is_audited_as_not_delivered(
    db_session: Session, settings: NodeSettings, enrolled: str
) -> None:
    referral = send(db_session, settings)
    message = db_session.exec(
        select(OutboxMessage).where(OutboxMessage.idempotency_key == referral.id)
    ).one()
    claimed = ClaimedMessage(
        id=message.id or 0,
        kind=message.kind,
        destination=message.destination,
        payload=message.payload,
        idempotency_key=message.idempotency_key,
        attempts=12,
    )
    audit_offer_given_up(db_session, claimed, True, org_id="council")  # delivered: nothing
    audit_offer_given_up(db_session, claimed, False, org_id="council")
    entries = db_session.exec(
        select(AuditEntry).where(AuditEntry.request_id == referral.id).order_by(AuditEntry.seq)
    ).all()
    assert [(e.kind, e.decision) for e in entries] == [
        ("referral_sent", "allow"),
        ("referral_sent", "error"),
    ]
    assert "NOT delivered to refuge" in entries[-1].reason

"""A partner's referral messages applied at a node: offers, acknowledgements, statuses.

Runs on every database backend with the real embedded ``joinedup.act`` policy, real
keys and sealed boxes. The signed envelope around each body is checked by the
endpoints (``tests/e2e/test_referrals.py``); here the verified request is given.
"""

from __future__ import annotations

import datetime as dt
import time
from datetime import date
from functools import partial

import pytest
from sqlmodel import Session, select

from federation.consent_token import ConsentTokenClaims
from federation.envelope import VerifiedRequest
from federation.errors import BadRequest
from federation.keys import MemberKeys
from federation.linkage import LinkageKey, linkage_tokens
from federation.wire.referral import (
    ReferralAcknowledgement,
    ReferralContact,
    ReferralOffer,
    ReferralRequester,
    ReferralStatus,
    seal_contact,
)
from joinedup.localfed import free_port
from node.audit.models import AuditEntry
from node.outbox.models import DeliveryReceipt
from node.policy import PolicyEngine, build_policy_engine
from node.records.service import create_person
from node.referrals.data import referral_vocabulary
from node.referrals.exceptions import (
    DecisionUnavailable,
    IllegalTransition,
    ReferralNotFound,
    StatusTooEarly,
)
from node.referrals.models import Referral
from node.referrals.receive import (
    Receiver,
    apply_acknowledgement,
    receive_offer,
    receive_status,
)
from node.referrals.service import add_event

KEY = LinkageKey(1, b"k" * 32)
NOW = dt.datetime(2026, 12, 1, 10, 0, tzinfo=dt.UTC)
SUBJECT = "sub_receive_test"
REFUGE_KEYS = MemberKeys.generate()
REFUGE = Receiver(org_id="refuge", org_kind="charity", keys=REFUGE_KEYS, linkage_version=1)
MORGAN = {
    "family_name": "Reyes",
    "given_name": "Morgan",
    "date_of_birth": date(1990, 2, 3),
    "postcode": "RV2 9XY",
}


@pytest.fixture(scope="module")
def policy() -> PolicyEngine:
    return build_policy_engine()


def claims(*categories: str) -> ConsentTokenClaims:
    issued = int(time.time())
    provision = {
        "consent_id": "cns_test",
        "purposes": ["referral"],
        "recipients": ["council"],
        "categories": list(categories),
        "actions": ["refer"],
        "period_end": None,
    }
    return ConsentTokenClaims(
        subject_id=SUBJECT,
        requester="council",
        purpose="referral",
        issued_at=issued,
        expires_at=issued + 30,
        max_age=30,
        token_id="jti_test",
        provisions=[provision],
    )


def offer(referral_id: str, **changes: object) -> ReferralOffer:
    fields: dict[str, object] = {
        "referral_id": referral_id,
        "subject_id": SUBJECT,
        "linkage_tokens": linkage_tokens(key=KEY, **MORGAN),  # type: ignore[arg-type]
        "category": "victim_support",
        "purpose": "referral",
        "urgency": "urgent",
        "reason": "Needs a safe place to stay.",
        "person_told": "That the refuge will call.",
        "requester": ReferralRequester(role="frontline", pseudonym="stf_1"),
        "sent_at": NOW,
    }
    fields.update(changes)
    return ReferralOffer.model_validate(fields)


def verified(
    body: ReferralOffer | ReferralStatus, key: str, issuer: str = "council"
) -> VerifiedRequest:
    return VerifiedRequest(
        issuer=issuer,
        audience="refuge",
        request_id="req_" + key.replace(":", "_"),
        issued_at=0,
        expires_at=30,
        action=body.action,
        body=body.body(),
        idempotency_key=key,
    )


def deliver(
    session: Session,
    policy: PolicyEngine,
    sent: ReferralOffer,
    consent: ConsentTokenClaims | None,
) -> ReferralAcknowledgement:
    return receive_offer(
        session,
        verified=verified(sent, sent.referral_id),
        offer=sent,
        decide=partial(policy.decide, "act"),
        consent=consent,
        requester_kind="council",
        receiver=REFUGE,
        words=referral_vocabulary(),
        now=NOW,
    )


def audit_kinds(session: Session, referral_id: str) -> list[str]:
    rows = session.exec(select(AuditEntry).where(AuditEntry.request_id == referral_id)).all()
    return [row.kind for row in rows]


def test_an_offer_about_a_person_the_refuge_knows_lands_in_its_inbox(
    db_session: Session, policy: PolicyEngine
) -> None:
    create_person(session=db_session, data=dict(MORGAN), linkage_key=KEY)
    sealed = seal_contact(
        ReferralContact(name="Morgan Reyes", how_to_contact="07700 900123"),
        REFUGE_KEYS.public_key,
    )
    sent = offer("a1" * 16, contact_sealed=sealed)
    ack = deliver(db_session, policy, sent, claims("victim_support", "contact_details"))
    assert (ack.state, ack.contact) == ("received", "not_needed")
    stored = db_session.get(Referral, sent.referral_id)
    assert stored is not None
    assert stored.subject_id == SUBJECT  # known here by the linkage tokens
    assert stored.contact_details is None  # known, so the sealed details stay shut
    assert stored.respond_by == NOW + dt.timedelta(days=1)
    assert audit_kinds(db_session, sent.referral_id) == ["referral_received"]


def test_contact_details_are_opened_for_an_unknown_person_only_with_the_obligation(
    db_session: Session, policy: PolicyEngine
) -> None:
    details = ReferralContact(name="Morgan Reyes", how_to_contact="07700 900123")
    sealed = seal_contact(details, REFUGE_KEYS.public_key)
    allowed = offer("b1" * 16, contact_sealed=sealed)
    ack = deliver(db_session, policy, allowed, claims("victim_support", "contact_details"))
    assert (ack.state, ack.contact) == ("received", "received")
    stored = db_session.get(Referral, allowed.referral_id)
    assert stored is not None
    assert stored.subject_id is None
    assert ReferralContact.model_validate_json(stored.contact_details or "") == details

    # Consent to the referral but not to contact details: the box stays shut.
    shut = offer("b2" * 16, contact_sealed=sealed)
    ack = deliver(db_session, policy, shut, claims("victim_support"))
    assert (ack.state, ack.contact) == ("received", "needed")
    held = db_session.get(Referral, shut.referral_id)
    assert held is not None
    assert held.contact_details is None


def test_a_refused_offer_leaves_only_its_receipt_and_audit_entry(
    db_session: Session, policy: PolicyEngine
) -> None:
    sent = offer("c1" * 16)
    ack = deliver(db_session, policy, sent, None)
    assert ack == ReferralAcknowledgement(referral_id=sent.referral_id, state="declined_by_policy")
    assert db_session.get(Referral, sent.referral_id) is None
    assert audit_kinds(db_session, sent.referral_id) == ["referral_refused"]
    # A resend (the first answer was lost) is answered the same, and changes nothing.
    assert deliver(db_session, policy, sent, claims("victim_support")) == ack
    assert audit_kinds(db_session, sent.referral_id) == ["referral_refused"]
    assert db_session.get(Referral, sent.referral_id) is None


def test_a_resent_offer_is_acted_on_once(db_session: Session, policy: PolicyEngine) -> None:
    sent = offer("d1" * 16)
    first = deliver(db_session, policy, sent, claims("victim_support"))
    again = deliver(db_session, policy, sent, claims("victim_support"))
    assert first == again
    assert len(db_session.exec(select(Referral).where(Referral.id == sent.referral_id)).all()) == 1
    receipts = db_session.exec(
        select(DeliveryReceipt).where(DeliveryReceipt.receipt_key == f"council:{sent.referral_id}")
    ).all()
    assert len(receipts) == 1


def test_an_offer_whose_key_is_not_its_referral_id_is_refused(
    db_session: Session, policy: PolicyEngine
) -> None:
    sent = offer("e1" * 16)
    with pytest.raises(BadRequest):
        receive_offer(
            db_session,
            verified=verified(sent, "something-else"),
            offer=sent,
            decide=partial(policy.decide, "act"),
            consent=claims("victim_support"),
            requester_kind="council",
            receiver=REFUGE,
            words=referral_vocabulary(),
            now=NOW,
        )


def outgoing(session: Session, referral_id: str, state: str = "sending") -> Referral:
    referral = Referral(
        id=referral_id,
        direction="outgoing",
        partner_org="refuge",
        subject_id=SUBJECT,
        category="victim_support",
        purpose="referral",
        urgency="urgent",
        reason="r",
        person_told="t",
        state=state,
        created_by="alex",
        respond_by=NOW + dt.timedelta(days=1),
    )
    session.add(referral)
    session.flush()
    add_event(session, referral, from_state=None, to_state=state, actor="alex", at=NOW)
    return referral


def status(referral_id: str, seq: int, to_state: str, **changes: object) -> ReferralStatus:
    return ReferralStatus.model_validate(
        {"referral_id": referral_id, "seq": seq, "to_state": to_state, "at": NOW, **changes}
    )


def apply(session: Session, sent: ReferralStatus, issuer: str = "refuge") -> str:
    return receive_status(
        session,
        verified=verified(sent, f"{sent.referral_id}:{sent.seq}", issuer=issuer),
        status=sent,
        now=NOW,
    )


def test_statuses_move_the_senders_copy_and_a_repeat_changes_nothing(
    db_session: Session,
) -> None:
    referral = outgoing(db_session, "f1" * 16)
    accepted = status(referral.id, 2, "accepted", worker="Priya Shah")
    # The acceptance overtook the acknowledgement: it proves receipt on its own.
    assert apply(db_session, accepted) == "applied"
    assert referral.state == "accepted"
    assert referral.assigned_worker == "Priya Shah"
    assert apply(db_session, accepted) == "repeat"
    apply_acknowledgement(
        db_session,
        ack=ReferralAcknowledgement(referral_id=referral.id, state="received", contact="needed"),
        partner="refuge",
        now=NOW,
    )
    assert referral.state == "accepted"  # the late acknowledgement does not go back
    assert referral.contact == "needed"


def test_a_status_that_overtook_an_earlier_one_is_answered_too_early(
    db_session: Session,
) -> None:
    referral = outgoing(db_session, "f2" * 16, state="received")
    with pytest.raises(StatusTooEarly) as caught:
        apply(db_session, status(referral.id, 3, "completed", reason_code="need_met"))
    assert caught.value.status_code == 425


def test_a_status_after_this_end_closed_the_referral_changes_nothing(
    db_session: Session,
) -> None:
    referral = outgoing(db_session, "f3" * 16, state="withdrawn")
    assert apply(db_session, status(referral.id, 2, "accepted", worker="Sam")) == "unchanged"
    assert referral.state == "withdrawn"
    assert audit_kinds(db_session, referral.id) == ["referral_status_received"]


def test_a_receiver_cannot_withdraw_and_a_stranger_cannot_touch_a_referral(
    db_session: Session,
) -> None:
    referral = outgoing(db_session, "f4" * 16, state="received")
    with pytest.raises(IllegalTransition):
        apply(db_session, status(referral.id, 2, "withdrawn"))
    with pytest.raises(ReferralNotFound):
        apply(db_session, status(referral.id, 2, "accepted", worker="Sam"), issuer="gp")


def test_the_acknowledgement_of_a_refusal_closes_the_senders_copy(db_session: Session) -> None:
    referral = outgoing(db_session, "f5" * 16)
    apply_acknowledgement(
        db_session,
        ack=ReferralAcknowledgement(referral_id=referral.id, state="declined_by_policy"),
        partner="refuge",
        now=NOW,
    )
    assert referral.state == "declined_by_policy"
    assert audit_kinds(db_session, referral.id) == ["referral_status_received"]


def test_an_engine_failure_is_not_a_refusal_and_records_nothing(db_session: Session) -> None:
    # The production engine with its OPA sidecar down (nothing listens on that port).
    down = build_policy_engine(engine="opa", opa_url=f"http://127.0.0.1:{free_port()}")
    sent = offer("c2" * 16)
    with pytest.raises(DecisionUnavailable) as caught:
        deliver(db_session, down, sent, claims("victim_support"))
    assert caught.value.status_code == 503
    # The caller's transaction rolls back (run_in_session): a resend is decided afresh.
    db_session.rollback()
    receipts = db_session.exec(
        select(DeliveryReceipt).where(DeliveryReceipt.receipt_key == f"council:{sent.referral_id}")
    ).all()
    assert receipts == []
    assert audit_kinds(db_session, sent.referral_id) == []

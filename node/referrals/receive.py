"""What a partner sends about a referral, applied at this node (docs/referrals.md).

``receive_offer`` (the receiver, ``POST /federation/referrals``): inside the
answer's transaction, after the replay check,

1. the idempotency receipt ``<sender>:<referral id>`` is taken
   (``appkit.outbox.first_delivery``); a repeat delivery (a retry after a lost
   answer) gets the same acknowledgement again and changes nothing;
2. the consent token is checked offline and ``joinedup.act`` decides (input:
   ``offer_policy_input``). On a refusal only the audit entry ``referral_refused``
   and the receipt are kept, and the answer says ``declined_by_policy``, nothing more;
3. on an allow the referral is stored in the inbox (``received``). Whether this
   node knows the person is found from its subject link or its own linkage tokens;
   if it does not, and the policy's obligations include ``receive_contact_details``,
   the sealed contact details are opened (``contact`` = ``received``); otherwise
   ``contact`` = ``needed`` and the acknowledgement tells the sender so;
4. ``referral_received`` is audited last, with the referral id as request id.

``receive_status`` (either side, ``POST /federation/referral-status``) applies a
partner's change through the same state machine: a change the partner may make is
applied; one that arrives after this end closed the referral, or repeats the
current state, changes nothing; one that overtook an earlier status is answered
425 (the partner's outbox resends it later); anything else is 409.
``apply_acknowledgement`` is the sender's half of step 4: its outbox worker records
the receiver's answer.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session

from appkit.outbox import first_delivery
from federation.consent_token import ConsentTokenClaims, consent_policy_input
from federation.envelope import VerifiedRequest
from federation.errors import BadRequest
from federation.keys import MemberKeys
from federation.wire.referral import (
    CONTACT_OBLIGATION,
    REFER_ACTION,
    ContactState,
    ReferralAcknowledgement,
    ReferralOffer,
    ReferralStatus,
    open_contact,
)
from node.audit.service import record_audit
from node.links.service import decide_match, match_tokens
from node.outbox.models import DeliveryReceipt
from node.policy import PolicyDecision
from node.policy.engine import is_engine_error
from node.referrals.data import ReferralVocabulary
from node.referrals.exceptions import (
    DecisionUnavailable,
    IllegalTransition,
    ReferralIdTaken,
    ReferralNotFound,
    StatusTooEarly,
)
from node.referrals.models import Referral, ReferralEvent
from node.referrals.service import audit_referral, move
from node.referrals.states import (
    FINAL,
    LABELS,
    STATES,
    TRANSITIONS,
    Side,
    is_allowed,
    side_of,
)
from node.share.service import linked_person_id


@dataclass(frozen=True)
class Receiver:
    """This node as the receiver of a referral."""

    org_id: str
    org_kind: str
    keys: MemberKeys
    linkage_version: int | None  # None: no linkage key here, so no token matching


def offer_policy_input(
    *,
    offer: ReferralOffer,
    requester_org: str,
    requester_kind: str,
    holder: Receiver,
    consent: ConsentTokenClaims | None,
) -> dict[str, Any]:
    """The ``joinedup.act`` input for an offer (shape: policies/act/act.rego)."""
    decision_input: dict[str, Any] = {
        "requester": {
            "org_id": requester_org,
            "org_kind": requester_kind,
            "role": offer.requester.role,
        },
        "holder": {"org_id": holder.org_id, "org_kind": holder.org_kind},
        "purpose": offer.purpose,
        "subject_id": offer.subject_id,
        "consent": consent_policy_input(consent),
        "action": REFER_ACTION,
        "category": offer.category,
        "urgency": offer.urgency,
        "contact_details": offer.contact_sealed is not None,
        "emergency": offer.emergency.model_dump() if offer.emergency is not None else None,
    }
    return decision_input


def _knows_person(session: Session, offer: ReferralOffer, linkage_version: int | None) -> bool:
    """Whether this node already knows the person: linked, or one clear token match."""
    if linked_person_id(session=session, subject_id=offer.subject_id) is not None:
        return True
    if linkage_version is None or not offer.linkage_tokens:
        return False
    match = match_tokens(session=session, tokens=offer.linkage_tokens, key_version=linkage_version)
    has_nn = any(".nn." in token for token in offer.linkage_tokens)
    person_id, _ = decide_match(match, request_has_nn=has_nn)
    return person_id is not None


# Core statements on the inbox's hot path (as the share endpoint does): ORM loading
# cost more than the rest of an offer's work.
_referral = Referral.__table__  # type: ignore[attr-defined]
_event = ReferralEvent.__table__  # type: ignore[attr-defined]
_HELD = sa.select(_referral.c.direction, _referral.c.partner_org, _referral.c.contact).where(
    _referral.c.id == sa.bindparam("rid")
)


def _held(session: Session, referral_id: str) -> sa.Row[Any] | None:
    """(direction, partner_org, contact) of the referral with this id here, if any."""
    return session.connection().execute(_HELD, {"rid": referral_id}).first()


def _repeat_acknowledgement(
    session: Session, offer: ReferralOffer, sender: str
) -> ReferralAcknowledgement:
    """The answer already given to this offer: it is in the inbox, or it was refused."""
    held = _held(session, offer.referral_id)
    if held is None or held.direction != "incoming" or held.partner_org != sender:
        return ReferralAcknowledgement(referral_id=offer.referral_id, state="declined_by_policy")
    return ReferralAcknowledgement(
        referral_id=offer.referral_id, state="received", contact=held.contact
    )


def receive_offer(
    session: Session,
    *,
    verified: VerifiedRequest,
    offer: ReferralOffer,
    decide: Any,
    consent: ConsentTokenClaims | None,
    requester_kind: str,
    receiver: Receiver,
    words: ReferralVocabulary,
    now: dt.datetime,
) -> ReferralAcknowledgement:
    """Decide and record one offer (the request id is already remembered); see the module."""
    if verified.idempotency_key != offer.referral_id:
        raise BadRequest("a referral's idempotency key must be its referral id")
    if not first_delivery(
        session=session,
        model=DeliveryReceipt,
        sender=verified.issuer,
        idempotency_key=offer.referral_id,
    ):
        return _repeat_acknowledgement(session, offer, verified.issuer)
    if _held(session, offer.referral_id) is not None:
        raise ReferralIdTaken("this referral id is already in use here")
    decision: PolicyDecision = decide(
        offer_policy_input(
            offer=offer,
            requester_org=verified.issuer,
            requester_kind=requester_kind,
            holder=receiver,
            consent=consent,
        )
    )
    if is_engine_error(decision):
        raise DecisionUnavailable("the policy engine could not decide; try again later")
    if not decision.allow or offer.urgency not in words.urgencies:
        _audit_offer(session, verified, offer, receiver, "referral_refused", decision, None)
        return ReferralAcknowledgement(referral_id=offer.referral_id, state="declined_by_policy")
    known = _knows_person(session, offer, receiver.linkage_version)
    contact: ContactState = "not_needed"
    details = None
    if not known:
        opened = None
        if offer.contact_sealed and CONTACT_OBLIGATION in decision.obligations:
            opened = open_contact(offer.contact_sealed, receiver.keys)
        contact = "received" if opened is not None else "needed"
        details = opened.model_dump_json(exclude_none=True) if opened is not None else None
    sent_at = min(offer.sent_at, now)
    connection = session.connection()
    connection.execute(
        _referral.insert().values(
            id=offer.referral_id,
            direction="incoming",
            partner_org=verified.issuer,
            subject_id=offer.subject_id if known else None,
            category=offer.category,
            purpose=offer.purpose,
            urgency=offer.urgency,
            reason=offer.reason,
            person_told=offer.person_told,
            contact_preferences=offer.contact_preferences,
            contact=contact,
            contact_details=details,
            state="received",
            emergency_basis=offer.emergency.basis if offer.emergency else None,
            emergency_justification=offer.emergency.justification if offer.emergency else None,
            created_by=verified.issuer,
            created_at=now,
            updated_at=now,
            respond_by=words.urgencies[offer.urgency].respond_by(sent_at),
        )
    )
    connection.execute(
        _event.insert().values(
            referral_id=offer.referral_id,
            at=now,
            from_state="sending",
            to_state="received",
            actor=verified.issuer,
        )
    )
    _audit_offer(session, verified, offer, receiver, "referral_received", decision, contact)
    return ReferralAcknowledgement(referral_id=offer.referral_id, state="received", contact=contact)


def _audit_offer(
    session: Session,
    verified: VerifiedRequest,
    offer: ReferralOffer,
    receiver: Receiver,
    kind: str,
    decision: PolicyDecision,
    contact: str | None,
) -> None:
    reason = "; ".join(decision.reasons) or "the referral is not valid here"
    if contact == "received":
        reason += "; contact details received"
    elif contact == "needed":
        reason += "; contact details needed from the sender"
    record_audit(
        session=session,
        kind=kind,
        request_id=offer.referral_id,
        actor_org=verified.issuer,
        actor_staff=offer.requester.pseudonym or None,
        actor_role=offer.requester.role,
        subject_id=offer.subject_id,
        purpose=offer.purpose,
        action=REFER_ACTION,
        decision="allow" if kind == "referral_received" else "deny",
        categories=[offer.category],
        reason=reason,
        emergency=offer.emergency is not None,
        holder_org=receiver.org_id,
        emergency_basis=offer.emergency.basis if offer.emergency else None,
        justification=offer.emergency.justification if offer.emergency else None,
    )


def receive_status(
    session: Session, *, verified: VerifiedRequest, status: ReferralStatus, now: dt.datetime
) -> str:
    """Apply a partner's status message; returns what happened (for the answer and tests)."""
    if verified.idempotency_key != f"{status.referral_id}:{status.seq}":
        raise BadRequest("a status message's idempotency key must be <referral id>:<seq>")
    referral = session.get(Referral, status.referral_id)
    if referral is None or referral.partner_org != verified.issuer:
        raise ReferralNotFound("no such referral with this partner")
    if not first_delivery(
        session=session,
        model=DeliveryReceipt,
        sender=verified.issuer,
        idempotency_key=verified.idempotency_key,
    ):
        return "repeat"
    partner: Side = "receiver" if side_of(referral.direction) == "sender" else "sender"
    to_state = status.to_state
    if to_state not in STATES or not any(
        to == to_state and who == partner for (_, to), who in TRANSITIONS.items()
    ):
        raise IllegalTransition(f"the {partner} never moves a referral to {to_state!r}")
    outcome = "applied"
    from_state = referral.state
    if from_state == "sending" and partner == "receiver" and to_state != "declined_by_policy":
        # A status from the receiver proves it has the referral, even if its
        # acknowledgement has not been recorded here yet.
        move(session, referral, to_state="received", actor=verified.issuer, at=now)
    if is_allowed(referral.state, to_state, partner):
        move(
            session,
            referral,
            to_state=to_state,
            actor=verified.issuer,
            at=now,
            reason_code=status.reason_code,
            note=status.note,
            worker=status.worker,
        )
    elif referral.state in FINAL or referral.state == to_state:
        outcome = "unchanged"  # this end closed it first, or it already says so
    else:
        raise StatusTooEarly("an earlier status of this referral has not arrived yet")
    audit_referral(
        session,
        referral,
        kind="referral_status_received",
        actor_org=verified.issuer,
        decision="info",
        reason=f"{verified.issuer} moved the referral to {LABELS[to_state].lower()}"
        + ("" if outcome == "applied" else f"; no change here ({LABELS[from_state].lower()})"),
    )
    return outcome


def apply_acknowledgement(
    session: Session, *, ack: ReferralAcknowledgement, partner: str, now: dt.datetime
) -> None:
    """The sender records the receiver's signed acknowledgement of its offer."""
    referral = session.get(Referral, ack.referral_id)
    if referral is None or referral.direction != "outgoing" or referral.partner_org != partner:
        return
    referral.contact = ack.contact
    session.add(referral)
    if referral.state != "sending":
        session.flush()
        return  # a status from the receiver already moved it on
    move(session, referral, to_state=ack.state, actor=partner, at=now)
    refused = ack.state == "declined_by_policy"
    audit_referral(
        session,
        referral,
        kind="referral_status_received",
        actor_org=partner,
        decision="deny" if refused else "allow",
        reason=f"{partner} "
        + ("declined the referral under its policy" if refused else "acknowledged the referral")
        + ("; it needs the person's contact details" if ack.contact == "needed" else ""),
    )

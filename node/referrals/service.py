"""Referrals as this node's staff work them: send, change state, list, read the history.

``send_referral`` writes the outgoing referral (state ``sending``), its first event,
the offer in the outbox and the ``referral_sent`` audit entry in the caller's
transaction: a referral is never recorded without the message that will deliver it,
nor sent without its audit entry. ``transition`` does the same for every state
change staff make at either end: it checks the state machine (``states``), records
the event, queues a ``ReferralStatus`` for the partner (idempotency key
``<referral id>:<event seq>``) and audits ``referral_status_sent``. What partners
send is applied by ``node.referrals.receive``.

Services flush, never commit (the caller's session commits once); the outbox worker
is woken by the router after the commit.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from sqlmodel import Session, col, func, select

from appkit.outbox import enqueue
from federation.registry import Registry
from federation.wire.referral import (
    ReferralContact,
    ReferralOffer,
    ReferralRequester,
    ReferralStatus,
    seal_contact,
)
from node.audit.service import record_audit
from node.auth.dependencies import StaffPrincipal
from node.config import NodeSettings
from node.db import utcnow
from node.links.service import link_for_subject
from node.outbox.models import OutboxMessage
from node.records.models import Person
from node.referrals.data import ReferralVocabulary, referral_vocabulary
from node.referrals.exceptions import MayNotRefer, ReferralInvalid, ReferralNotFound
from node.referrals.models import Referral, ReferralEvent
from node.referrals.schemas import ReferralForm
from node.referrals.states import (
    AWAITING_RESPONSE,
    LABELS,
    OPEN,
    check_transition,
    next_states,
    side_of,
)

REFERRAL_OFFER = "referral_offer"  # outbox message kinds
REFERRAL_STATUS = "referral_status"
LIST_LIMIT = 500


def new_referral_id() -> str:
    return uuid.uuid4().hex


def vocabulary(settings: NodeSettings | None = None) -> ReferralVocabulary:
    return referral_vocabulary(settings.policy_dir if settings is not None else None)


def _person_tokens(session: Session, subject_id: str) -> list[str]:
    link = link_for_subject(session=session, subject_id=subject_id)
    if link is None:
        raise ReferralInvalid("this person is not enrolled here, so they cannot be referred")
    person = session.get(Person, link.person_id)
    return list(person.linkage_tokens or []) if person is not None else []


def add_event(
    session: Session,
    referral: Referral,
    *,
    from_state: str | None,
    to_state: str,
    actor: str,
    at: dt.datetime,
    reason_code: str | None = None,
    note: str | None = None,
) -> int:
    """Record one change of state; returns its number (1-based) at this end."""
    session.add(
        ReferralEvent(
            referral_id=referral.id,
            at=at,
            from_state=from_state,
            to_state=to_state,
            actor=actor,
            reason_code=reason_code,
            note=note,
        )
    )
    session.flush()
    count = session.exec(
        select(func.count())
        .select_from(ReferralEvent)
        .where(ReferralEvent.referral_id == referral.id)
    ).one()
    return int(count)


def move(
    session: Session,
    referral: Referral,
    *,
    to_state: str,
    actor: str,
    at: dt.datetime,
    reason_code: str | None = None,
    note: str | None = None,
    worker: str | None = None,
) -> int:
    """Apply a checked change of state and record its event; returns the event's number."""
    from_state = referral.state
    referral.state = to_state
    referral.updated_at = at
    if to_state == "accepted" and worker:
        referral.assigned_worker = worker
    session.add(referral)
    return add_event(
        session,
        referral,
        from_state=from_state,
        to_state=to_state,
        actor=actor,
        at=at,
        reason_code=reason_code,
        note=note,
    )


def send_referral(
    session: Session,
    *,
    settings: NodeSettings,
    staff: StaffPrincipal,
    subject_id: str,
    to_org: str,
    form: ReferralForm,
    registry: Registry | None = None,
    now: dt.datetime | None = None,
) -> Referral:
    """Record an outgoing referral and queue its offer (state ``sending``).

    ``registry`` checks that ``to_org`` is an organisation of the federation and is
    required when ``form.contact`` is given: the contact details are sealed to that
    organisation's key here, so they are never stored unsealed in the outbox.
    """
    words = vocabulary(settings)
    if staff.role not in words.refer_roles:
        raise MayNotRefer(f"the role {staff.role} may not refer people to partners")
    if to_org == settings.org_id:
        raise ReferralInvalid("a referral goes to another organisation")
    if form.urgency not in words.urgencies:
        raise ReferralInvalid(f"unknown urgency {form.urgency!r}")
    if registry is not None and to_org not in {m.org_id for m in registry.organisations()}:
        raise ReferralInvalid(f"{to_org} is not an organisation of this federation")
    contact_sealed = None
    if form.contact is not None:
        if registry is None:
            raise ReferralInvalid("contact details can only be sent within a federation")
        contact_sealed = seal_contact(form.contact, registry.public_key(to_org))
    tokens = _person_tokens(session, subject_id)
    at = now or utcnow()
    referral = Referral(
        id=new_referral_id(),
        direction="outgoing",
        partner_org=to_org,
        subject_id=subject_id,
        category=form.category,
        purpose=form.purpose,
        urgency=form.urgency,
        reason=form.reason,
        person_told=form.person_told,
        contact_preferences=form.contact_preferences,
        contact="not_needed",
        state="sending",
        emergency_basis=form.emergency.basis if form.emergency else None,
        emergency_justification=form.emergency.justification if form.emergency else None,
        created_by=staff.username,
        created_at=at,
        updated_at=at,
        respond_by=words.urgencies[form.urgency].respond_by(at),
    )
    session.add(referral)
    session.flush()
    add_event(session, referral, from_state=None, to_state="sending", actor=staff.username, at=at)
    offer = ReferralOffer(
        referral_id=referral.id,
        subject_id=subject_id,
        linkage_tokens=tokens,
        category=form.category,
        purpose=form.purpose,
        urgency=form.urgency,
        reason=form.reason,
        person_told=form.person_told,
        contact_preferences=form.contact_preferences,
        emergency=form.emergency,
        contact_sealed=contact_sealed,
        requester=ReferralRequester(
            role=staff.role, description=_job(staff), pseudonym=staff.pseudonym
        ),
        sent_at=at,
    )
    # The consent token is fetched afresh at every delivery attempt (a token lives
    # 30 s; a referral may wait hours for its receiver): node.referrals.outbox.
    enqueue(
        session=session,
        model=OutboxMessage,
        kind=REFERRAL_OFFER,
        destination=to_org,
        payload={"offer": offer.body()},
        idempotency_key=referral.id,
        now=at,
    )
    record_audit(
        session=session,
        kind="referral_sent",
        request_id=referral.id,
        actor_org=settings.org_id,
        actor_staff=staff.pseudonym,
        actor_role=staff.role,
        subject_id=subject_id,
        purpose=form.purpose,
        action="refer",
        decision="allow",
        categories=[form.category],
        reason=f"referral sent to {to_org} ({form.urgency})",
        emergency=form.emergency is not None,
        holder_org=to_org,
        emergency_basis=form.emergency.basis if form.emergency else None,
        justification=form.emergency.justification if form.emergency else None,
    )
    return referral


def _job(staff: StaffPrincipal) -> str:
    # The role in words, never the username: the receiver learns what kind of worker asked.
    return staff.role.replace("_", " ")


def _validate_change(
    words: ReferralVocabulary,
    to_state: str,
    reason_code: str | None,
    note: str | None,
    worker: str | None,
) -> None:
    """What each change needs: a named worker, a listed reason or outcome, a note."""
    if to_state == "accepted" and not (worker and worker.strip()):
        raise ReferralInvalid("name the worker who will take the referral")
    if to_state == "declined" and reason_code not in words.decline_reasons:
        raise ReferralInvalid("choose a reason for declining from the list")
    if to_state == "completed" and reason_code not in words.outcomes:
        raise ReferralInvalid("choose an outcome from the list")
    if to_state in ("more_info_requested", "received") and not (note and note.strip()):
        raise ReferralInvalid("say what information is needed, or give it, in the note")


def get_referral(session: Session, referral_id: str) -> Referral:
    referral = session.get(Referral, referral_id)
    if referral is None:
        raise ReferralNotFound("no such referral")
    return referral


def transition(
    session: Session,
    *,
    referral_id: str,
    to_state: str,
    actor: StaffPrincipal,
    reason_code: str | None = None,
    note: str | None = None,
    worker: str | None = None,
    now: dt.datetime | None = None,
) -> Referral:
    """Move a referral as this node's staff member ``actor``; tell the partner (outbox)."""
    referral = get_referral(session, referral_id)
    side = side_of(referral.direction)
    check_transition(referral.state, to_state, side)
    _validate_change(vocabulary(), to_state, reason_code, note, worker)
    at = now or utcnow()
    from_state = referral.state
    seq = move(
        session,
        referral,
        to_state=to_state,
        actor=actor.username,
        at=at,
        reason_code=reason_code,
        note=note,
        worker=worker,
    )
    status = ReferralStatus(
        referral_id=referral.id,
        seq=seq,
        to_state=to_state,
        reason_code=reason_code,
        note=note,
        worker=worker if to_state == "accepted" else None,
        at=at,
    )
    enqueue(
        session=session,
        model=OutboxMessage,
        kind=REFERRAL_STATUS,
        destination=referral.partner_org,
        payload={"status": status.body()},
        idempotency_key=f"{referral.id}:{seq}",
        now=at,
    )
    audit_referral(
        session,
        referral,
        kind="referral_status_sent",
        actor_org=actor.org_id,
        staff=actor,
        decision="info",
        reason=f"referral {LABELS[from_state].lower()} -> {LABELS[to_state].lower()}; "
        f"told {referral.partner_org}" + (f" ({reason_code})" if reason_code else ""),
    )
    return referral


def audit_referral(
    session: Session,
    referral: Referral,
    *,
    kind: str,
    actor_org: str,
    decision: str,
    reason: str,
    staff: StaffPrincipal | None = None,
) -> None:
    """A referral's audit entry: its id as request id, category and purpose, no free text."""
    record_audit(
        session=session,
        kind=kind,
        request_id=referral.id,
        actor_org=actor_org,
        actor_staff=staff.pseudonym if staff is not None else None,
        actor_role=staff.role if staff is not None else None,
        subject_id=referral.subject_id,
        purpose=referral.purpose,
        action="refer",
        decision=decision,
        categories=[referral.category],
        reason=reason,
        emergency=referral.emergency_basis is not None,
        # The other organisation, at both ends: so a trace of the referral id by its
        # auditor finds this entry (node.audit.queries: entries concerning the reader).
        holder_org=referral.partner_org,
    )


def _listed(session: Session, direction: str) -> list[Referral]:
    rows = session.exec(
        select(Referral)
        .where(Referral.direction == direction)
        .order_by(col(Referral.created_at).desc())
        .limit(LIST_LIMIT)
    ).all()
    return list(rows)


def inbox(session: Session) -> list[Referral]:
    """Incoming referrals: open ones first, soonest due first; then closed, newest first."""
    rows = _listed(session, "incoming")
    open_rows = sorted((r for r in rows if r.state in OPEN), key=lambda r: r.respond_by)
    return open_rows + [r for r in rows if r.state not in OPEN]


def outbox_list(session: Session) -> list[Referral]:
    """Outgoing referrals, newest first."""
    return _listed(session, "outgoing")


def history(session: Session, referral_id: str) -> tuple[Referral, list[ReferralEvent]]:
    """A referral and every change of its state at this end, oldest first."""
    referral = get_referral(session, referral_id)
    events = session.exec(
        select(ReferralEvent)
        .where(ReferralEvent.referral_id == referral_id)
        .order_by(col(ReferralEvent.id))
    ).all()
    return referral, list(events)


def is_overdue(referral: Referral, now: dt.datetime) -> bool:
    """Still waiting for the receiver's answer after its response target."""
    return referral.state in AWAITING_RESPONSE and now > referral.respond_by


def open_referrals_about(session: Session, subject_id: str) -> list[Referral]:
    """Open referrals about a person, either way, newest first (the view's actions)."""
    rows = session.exec(
        select(Referral)
        .where(Referral.subject_id == subject_id, col(Referral.state).in_(sorted(OPEN)))
        .order_by(col(Referral.created_at).desc())
    ).all()
    return list(rows)


def contact_of(referral: Referral) -> ReferralContact | None:
    """The contact details the receiver opened, if any."""
    if not referral.contact_details:
        return None
    return ReferralContact.model_validate_json(referral.contact_details)


def public_fields(referral: Referral, now: dt.datetime) -> dict[str, Any]:
    """The fields of ``ReferralPublic`` for ``referral``."""
    return {
        **referral.model_dump(exclude={"contact_details", "emergency_justification"}),
        "contact_details": contact_of(referral),
        "state_label": LABELS.get(referral.state, referral.state),
        "emergency": referral.emergency_basis is not None,
        "overdue": is_overdue(referral, now),
        "next_states": next_states_for(referral),
    }


def next_states_for(referral: Referral) -> list[str]:
    """The states this node's staff may move ``referral`` to."""
    return next_states(referral.state, side_of(referral.direction))

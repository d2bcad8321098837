"""Staff pages for referrals: received, sent, one referral with its timeline (issue 14).

"Referrals received" is the inbox: open referrals first, soonest due first, each
with who sent it, the need, the urgency, its age, when an answer is due and a flag
when that time has passed. "Referrals sent" (not "outbox": that is the admin's page
of messages to other organisations) lists this organisation's referrals with their
state. The referral page shows what was asked, what the person was told, the
contact details the receiver was allowed to open, the whole history, and a form for
each change this organisation may make now (``node.referrals.states``): accept
naming a worker, decline with a reason from the list, ask for more information,
complete with an outcome; or, at the sender, answer a request or withdraw.

A change goes through ``node.referrals.service.transition`` (state machine, event,
status message in the outbox, audit entry, one transaction); a change the state
machine refuses is a 409 page, a change missing its worker, reason or note comes
back on the page with the problem named (422).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import RedirectResponse, Response
from sqlmodel import Session, col, select
from starlette.background import BackgroundTask

from node.db import SessionDep, utcnow
from node.links.models import SubjectLink
from node.records.models import Person
from node.referrals.exceptions import ReferralInvalid
from node.referrals.models import Referral, ReferralEvent
from node.referrals.service import (
    contact_of,
    history,
    inbox,
    is_overdue,
    next_states_for,
    outbox_list,
    transition,
    vocabulary,
)
from node.referrals.states import LABELS, OPEN
from node.web.dependencies import CsrfForm, RecordWebStaff
from node.web.outbox import member_names
from node.web.pages import UI_PREFIX, HtmlRoute, render
from node.web.referral_form import wake_outbox

router = APIRouter(route_class=HtmlRoute)
ReferralIdPath = Annotated[str, Path(pattern=r"^[0-9a-f]{32}$")]
# What each change is called on its button, and the field each one needs.
CHANGES = {
    "accepted": "Accept",
    "declined": "Decline",
    "more_info_requested": "Ask for more information",
    "completed": "Complete",
    "received": "Send the information asked for",
    "withdrawn": "Withdraw the referral",
}
DONE = {
    "sent": "The referral is recorded and on its way. Its state changes here as the other "
    "organisation answers.",
    "changed": "The change is recorded and the other organisation is being told.",
}


@dataclass(frozen=True)
class ReferralRow:
    """One referral as the lists show it."""

    referral: Referral
    partner: str
    person: str
    person_id: int | None
    state: str
    overdue: bool
    age: str


def age_in_words(since: dt.datetime, now: dt.datetime) -> str:
    """'under an hour', '5 hours', '3 days': how long ago a referral was made."""
    seconds = max(0.0, (now - since).total_seconds())
    if seconds < 3600:
        return "under an hour"
    hours = int(seconds // 3600)
    if hours < 48:
        return f"{hours} hour{'' if hours == 1 else 's'}"
    return f"{hours // 24} days"


def _persons(session: Session, referrals: list[Referral]) -> dict[str, Person]:
    """subject_id -> this organisation's own record of the person, for known subjects."""
    subjects = sorted({r.subject_id for r in referrals if r.subject_id})
    if not subjects:
        return {}
    rows = session.exec(
        select(SubjectLink.subject_id, Person)
        .join(Person, col(Person.id) == col(SubjectLink.person_id))
        .where(col(SubjectLink.subject_id).in_(subjects))
    ).all()
    return dict(rows)


def rows_for(
    session: Session, request: Request, referrals: list[Referral], now: dt.datetime
) -> list[ReferralRow]:
    names = member_names(request)
    persons = _persons(session, referrals)
    rows = []
    for referral in referrals:
        person = persons.get(referral.subject_id or "")
        rows.append(
            ReferralRow(
                referral=referral,
                partner=names.get(referral.partner_org, referral.partner_org),
                person=f"{person.given_name} {person.family_name}"
                if person
                else "Not known here yet",
                person_id=person.id if person else None,
                state=LABELS.get(referral.state, referral.state),
                overdue=is_overdue(referral, now),
                age=age_in_words(referral.created_at, now),
            )
        )
    return rows


def _list_page(
    request: Request, session: Session, template: str, referrals: list[Referral]
) -> Response:
    now = utcnow()
    rows = rows_for(session, request, referrals, now)
    words = vocabulary(request.app.state.settings)
    return render(
        request,
        template,
        {
            "rows": rows,
            "open_count": sum(1 for r in rows if r.referral.state in OPEN),
            "overdue_count": sum(1 for r in rows if r.overdue),
            "urgencies": {code: u.label for code, u in words.urgencies.items()},
        },
    )


@router.get("/referrals")
def show_referrals_received(
    request: Request, session: SessionDep, staff: RecordWebStaff
) -> Response:
    """Referrals other organisations sent here: open ones first, soonest due first."""
    return _list_page(request, session, "referrals_received.html", inbox(session))


@router.get("/referrals/sent")
def show_referrals_sent(request: Request, session: SessionDep, staff: RecordWebStaff) -> Response:
    """Referrals this organisation sent, with their state and an overdue flag."""
    return _list_page(request, session, "referrals_sent.html", outbox_list(session))


def _detail_page(
    request: Request,
    session: Session,
    referral_id: str,
    *,
    done: str = "",
    errors: dict[str, str] | None = None,
    entered: dict[str, str] | None = None,
    status_code: int = 200,
) -> Response:
    referral, events = history(session, referral_id)
    now = utcnow()
    [row] = rows_for(session, request, [referral], now)
    words = vocabulary(request.app.state.settings)
    names = member_names(request)
    return render(
        request,
        "referral.html",
        {
            "row": row,
            "referral": referral,
            "events": [_event_row(e, words, names) for e in events],
            "contact": contact_of(referral),
            "changes": [(state, CHANGES[state]) for state in next_states_for(referral)],
            "urgency": words.urgencies.get(referral.urgency),
            "decline_reasons": words.decline_reasons,
            "outcomes": words.outcomes,
            "done": DONE.get(done, ""),
            "errors": errors or {},
            "entered": entered or {},
            "state_labels": LABELS,
        },
        status_code=status_code,
    )


def _event_row(event: ReferralEvent, words: Any, names: dict[str, str]) -> dict[str, Any]:
    reason = ""
    if event.reason_code:
        reason = words.decline_reasons.get(event.reason_code) or words.outcomes.get(
            event.reason_code, event.reason_code.replace("_", " ")
        )
    return {
        "at": event.at,
        "what": LABELS.get(event.to_state, event.to_state),
        # A partner's change names the partner: its organisation, never an id.
        "actor": names.get(event.actor, event.actor),
        "reason": reason,
        "note": event.note or "",
    }


@router.get("/referrals/{referral_id}")
def show_referral(
    request: Request,
    session: SessionDep,
    staff: RecordWebStaff,
    referral_id: ReferralIdPath,
    done: Annotated[str, Query(max_length=20)] = "",
) -> Response:
    """One referral: what was asked, its timeline, and the changes that can be made now."""
    return _detail_page(request, session, referral_id, done=done)


def _field(form: Any, name: str, limit: int) -> str:
    value = form.get(name)
    text = value.replace("\r\n", "\n").strip() if isinstance(value, str) else ""
    return text[: limit + 1]


def change_errors(to_state: str, entered: dict[str, str], words: Any) -> dict[str, str]:
    """Element id -> message for what the change needs but was not given."""
    errors: dict[str, str] = {}
    if to_state == "accepted" and not entered["worker"]:
        errors["accepted-worker"] = "Name the worker who will take the referral."
    if to_state == "declined" and entered["reason_code"] not in words.decline_reasons:
        errors["declined-reason_code"] = "Choose why you are declining the referral."
    if to_state == "completed" and entered["reason_code"] not in words.outcomes:
        errors["completed-reason_code"] = "Choose the outcome of the referral."
    if to_state in ("more_info_requested", "received") and not entered["note"]:
        errors[f"{to_state}-note"] = (
            "Say what information you need."
            if to_state == "more_info_requested"
            else "Give the information that was asked for."
        )
    if len(entered["note"]) > 4000:
        errors[f"{to_state}-note"] = "The note is longer than 4,000 characters."
    if len(entered["worker"]) > 128:
        errors["accepted-worker"] = "The worker's name is longer than 128 characters."
    return errors


@router.post("/referrals/{referral_id}")
def change_referral(
    request: Request,
    session: SessionDep,
    staff: RecordWebStaff,
    referral_id: ReferralIdPath,
    form: CsrfForm,
) -> Response:
    """Accept, decline, ask for information, complete, answer or withdraw (audited)."""
    to_state = _field(form, "to_state", 32)
    entered = {
        "to_state": to_state,
        "worker": _field(form, "worker", 128),
        "reason_code": _field(form, "reason_code", 64),
        "note": _field(form, "note", 4000),
    }
    words = vocabulary(request.app.state.settings)
    errors = change_errors(to_state, entered, words) if to_state in CHANGES else {}
    if not errors:
        try:
            transition(
                session,
                referral_id=referral_id,
                to_state=to_state,
                actor=staff,
                reason_code=entered["reason_code"] or None,
                note=entered["note"] or None,
                worker=entered["worker"] or None,
            )
        except ReferralInvalid as exc:
            errors[f"{to_state}-note"] = exc.message[:1].upper() + exc.message[1:] + "."
    if errors:
        session.rollback()
        return _detail_page(
            request, session, referral_id, errors=errors, entered=entered, status_code=422
        )
    return RedirectResponse(
        f"{UI_PREFIX}/referrals/{referral_id}?done=changed",
        status_code=303,
        background=BackgroundTask(wake_outbox, request),
    )

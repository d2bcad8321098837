"""The admin's outbox page: what this node still has to send, what it gave up on.

Only the ``admin`` role opens it. It lists the newest messages of the node's
outbox (``node.outbox``) in plain words: what each is, to whom, whether it was
sent, is waiting for another try, or was given up, and why. A given-up message can
be tried again (a CSRF-protected POST, audited as an ``admin_change``); it keeps
its idempotency key, so a message that did arrive is still acted on once. The page
never shows a message's contents: they may name the person it is about.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Request
from fastapi.responses import RedirectResponse, Response

from appkit.outbox import count_by_status, list_messages, retry_message
from federation.errors import NotFound
from node.audit.service import record_audit
from node.auth.dependencies import RequestId, StaffPrincipal
from node.db import MAX_ROW_ID, SessionDep
from node.outbox.models import OutboxMessage
from node.web.dependencies import CsrfForm, WebRole
from node.web.pages import UI_PREFIX, HtmlRoute, render

router = APIRouter(route_class=HtmlRoute)
AdminWebStaff = Annotated[StaffPrincipal, Depends(WebRole("admin"))]
MessageId = Annotated[int, Path(ge=1, le=MAX_ROW_ID)]
SHOWN = 100
WHAT = {
    "customer_notice": "Notice to the person that their records were opened in an emergency",
    "guide_announce": "Notice to a partner that our list of services changed",
    "referral_offer": "A referral to a partner organisation",
    "referral_status": "News of a referral for the partner organisation",
}


@dataclass(frozen=True)
class MessageRow:
    """One message as the page says it."""

    id: int
    what: str
    to: str
    status: str
    state: str
    tries: int
    problem: str
    created_at: dt.datetime


def describe(message: OutboxMessage, names: dict[str, str]) -> MessageRow:
    if message.status == "delivered":
        state = "Sent"
    elif message.status == "dead":
        state = "Given up"
    else:
        state = "Waiting to be sent"
    assert message.id is not None
    return MessageRow(
        id=message.id,
        what=WHAT.get(message.kind, "Message to another organisation"),
        to=names.get(message.destination, message.destination),
        status=message.status,
        state=state,
        tries=message.attempts,
        problem=message.last_error or "",
        created_at=message.created_at,
    )


def member_names(request: Request) -> dict[str, str]:
    holder = getattr(request.app.state, "registry", None)
    if holder is None:
        return {}
    return {member.org_id: member.name for member in holder.current().members}


@router.get("/outbox")
def show_outbox(request: Request, session: SessionDep, staff: AdminWebStaff) -> Response:
    """The newest outbox messages and how many are waiting, sent and given up."""
    names = member_names(request)
    rows = [
        describe(m, names) for m in list_messages(session=session, model=OutboxMessage, limit=SHOWN)
    ]
    counts = count_by_status(session=session, model=OutboxMessage)
    return render(request, "outbox.html", {"rows": rows, "counts": counts, "shown": SHOWN})


@router.post("/outbox/{message_id}/retry")
def retry_outbox_message(
    message_id: MessageId,
    session: SessionDep,
    staff: AdminWebStaff,
    form: CsrfForm,
    request: Request,
    request_id: RequestId,
) -> Response:
    """Try a given-up message again (audited)."""
    if retry_message(session=session, model=OutboxMessage, message_id=message_id) is None:
        raise NotFound("There is no such message waiting to be sent.")
    record_audit(
        session=session,
        kind="admin_change",
        request_id=request_id,
        actor_org=request.app.state.settings.org_id,
        actor_staff=staff.pseudonym,
        actor_role=staff.role,
        action="outbox_retry",
        decision="allow",
        reason=f"outbox message {message_id} queued to be sent again",
    )
    outbox = getattr(request.app.state, "outbox", None)
    if outbox is not None:
        outbox.wake()
    return RedirectResponse(f"{UI_PREFIX}/outbox", status_code=303)

"""Queueing the revocation push in the request's transaction, and sending it soon after.

The push is written to the outbox before the request's session commits; a
background task (which runs after the response, so after the commit) then asks
the outbox worker for a round at once, so a node usually hears within
milliseconds. Whatever that round cannot deliver, the worker retries.
"""

from __future__ import annotations

from fastapi import BackgroundTasks, Request
from sqlmodel import Session

from consent.consents.models import Consent
from consent.revocations.service import queue_revocation_push


def schedule_revocation_push(
    request: Request, session: Session, background: BackgroundTasks, consent: Consent
) -> None:
    """Queue the push to every member node (same transaction); deliver after the commit."""
    holder = getattr(request.app.state, "registry", None)
    if holder is None:
        return
    queue_revocation_push(session=session, registry=holder.current(), consent=consent)
    outbox = getattr(request.app.state, "outbox", None)
    if outbox is not None:
        background.add_task(outbox.run_round)

"""Telling every member node of a consent change before the customer is answered.

The push is written to the outbox in the request's transaction; the handler then
commits and delivers that round itself, waiting at most ``PUSH_WAIT_S``, so when
the customer reads "withdrawn" (or "granted") the nodes that are up already know,
and the very next view reflects it (a requester drops the consent token it kept
for the subject). Whatever the round cannot deliver in time, the outbox worker
retries (backoff with jitter, dead letter after ``outbox_max_attempts``).
"""

from __future__ import annotations

import asyncio
import logging

import anyio
import anyio.from_thread
from fastapi import BackgroundTasks, Request
from sqlmodel import Session

from appkit.outbox import OutboxWorker
from consent.consents.models import Consent
from consent.revocations.service import queue_grant_push, queue_revocation_push

log = logging.getLogger("joinedup.consent.revocations")

# Long enough for every node on a healthy network; a hung node costs this, once.
PUSH_WAIT_S = 2.0


def schedule_revocation_push(
    request: Request, session: Session, background: BackgroundTasks, consent: Consent
) -> None:
    """Queue the revocation or amendment push to every member node, then deliver it."""
    holder = getattr(request.app.state, "registry", None)
    if holder is None:
        return
    queue_revocation_push(session=session, registry=holder.current(), consent=consent)
    _deliver_now(request, session, background)


def schedule_grant_push(
    request: Request, session: Session, background: BackgroundTasks, consent: Consent
) -> None:
    """Queue the "consent granted" notice to every member node, then deliver it."""
    holder = getattr(request.app.state, "registry", None)
    if holder is None:
        return
    queue_grant_push(session=session, registry=holder.current(), consent=consent)
    _deliver_now(request, session, background)


def _deliver_now(request: Request, session: Session, background: BackgroundTasks) -> None:
    outbox: OutboxWorker | None = getattr(request.app.state, "outbox", None)
    if outbox is None:
        return
    session.commit()  # no node hears of a change that could still roll back
    try:
        anyio.from_thread.run(_round_within, outbox, PUSH_WAIT_S)
    except RuntimeError:  # not on a worker thread (an async handler): after the response
        background.add_task(outbox.run_round)


async def _round_within(outbox: OutboxWorker, wait_s: float) -> None:
    task = asyncio.ensure_future(outbox.run_round())
    task.add_done_callback(_log_failure)
    done, _ = await asyncio.wait({task}, timeout=wait_s)
    if not done:
        log.warning("consent change push still in flight", extra={"wait_s": wait_s})


def _log_failure(task: asyncio.Future[int]) -> None:
    if not task.cancelled() and task.exception() is not None:
        log.warning(
            "consent change push round failed",
            extra={"exc_type": type(task.exception()).__name__},
        )

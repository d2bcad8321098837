"""Lifespan hook: sign a tree head every N entries or T seconds (DESIGN "Audit").

A background task wakes at least twice a second (or every ``audit_tree_head_seconds``
if that is shorter) and signs when ``audit_tree_head_every`` entries or
``audit_tree_head_seconds`` have passed since the last head and the log has grown
(``node.audit.service.maybe_sign_tree_head``). The first head, of the log as found,
is signed at start-up. Database work runs in a worker thread; a failed round is
logged (by type only) and retried on the next wake-up, never crashing the node.

While a tamper alarm is open (``node.audit.guard``) no round signs anything; the
alarm is logged when it is raised and again at every start-up, so a restart never
hides it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import anyio
from fastapi import FastAPI
from sqlmodel import Session

from node.audit.guard import alarm_message
from node.audit.service import maybe_sign_tree_head

log = logging.getLogger("joinedup.node.audit")
MAX_POLL_S = 0.5


def sign_if_due(app: FastAPI) -> None:
    """One round: sign and commit a head if one is due."""
    settings = app.state.settings
    with Session(app.state.engine) as session:
        record = maybe_sign_tree_head(
            session=session,
            keys=app.state.keys,
            org_id=settings.org_id,
            every=settings.audit_tree_head_every,
            seconds=settings.audit_tree_head_seconds,
        )
        if record is not None:
            session.commit()


def report_open_alarm(app: FastAPI) -> None:
    """At start-up: say loudly that signing is halted, if it is."""
    with app.state.engine.connect() as connection:
        message = alarm_message(connection)
    if message is not None:
        log.critical("AUDIT LOG TAMPERED: %s", message)


async def _sign_round(app: FastAPI) -> None:
    try:
        await anyio.to_thread.run_sync(sign_if_due, app)
    except Exception as exc:  # keep signing on the next round, whatever failed
        log.warning("tree head signing failed: %s", type(exc).__name__)


async def _run(app: FastAPI, poll_s: float) -> None:
    while True:
        await asyncio.sleep(poll_s)
        await _sign_round(app)


@asynccontextmanager
async def tree_head_signer(app: FastAPI) -> AsyncIterator[None]:
    """Run the signer for the app's lifetime."""
    poll_s = min(MAX_POLL_S, float(app.state.settings.audit_tree_head_seconds))
    await anyio.to_thread.run_sync(report_open_alarm, app)
    await _sign_round(app)  # the log as found, before the first request
    task = asyncio.create_task(_run(app, poll_s), name="audit-tree-head-signer")
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task

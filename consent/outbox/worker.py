"""The consent service's outbox worker, started in its lifespan (``outbox_state``).

Every process of the service runs one (``outbox_worker`` setting); they share the
database and claim disjoint messages. It sends the revocation and amendment
pushes and grant notices (``consent.revocations.service``).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from appkit.outbox import OutboxWorker
from appkit.outbox.app import from_app_state, outbox_lifespan
from consent.outbox.models import ConsentOutboxMessage
from consent.revocations.service import (
    GRANT_PUSH,
    REVOCATION_PUSH,
    send_grant_push,
    send_revocation_push,
)


def make_worker(app: FastAPI) -> OutboxWorker:
    """A worker delivering this service's outbox with the app's state and settings."""
    return OutboxWorker(
        engine=app.state.engine,
        model=ConsentOutboxMessage,
        senders={
            REVOCATION_PUSH: from_app_state(app, send_revocation_push),
            GRANT_PUSH: from_app_state(app, send_grant_push),
        },
        policy=app.state.settings.outbox_policy,
    )


@asynccontextmanager
async def outbox_state(app: FastAPI) -> AsyncIterator[None]:
    """Lifespan hook: the service's outbox worker as ``app.state.outbox``."""
    async with outbox_lifespan(app, make_worker(app)):
        yield

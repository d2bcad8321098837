"""The node's replay cache in its database (``seen_request``): see ``appkit.replay``.

``remember_request`` is called in the transaction that acts on a partner request
(``verified_request`` dependencies, the share endpoint's answer), so a replay to
any process of this node is refused atomically.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from sqlmodel import Session

from appkit import replay
from federation.envelope import VerifiedRequest
from node.federation.models import SeenRequest


def remember_request(*, session: Session, verified: VerifiedRequest) -> None:
    """Record the request id in the caller's transaction; ``RequestReplayed`` if seen."""
    replay.remember_request(session=session, model=SeenRequest, verified=verified)


@asynccontextmanager
async def replay_purger(app: FastAPI) -> AsyncIterator[None]:
    """Lifespan hook: expired request ids purged every ``appkit.replay.PURGE_EVERY_S``."""
    async with replay.replay_purger(app, SeenRequest):
        yield

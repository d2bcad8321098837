"""The replay cache shared by every process of an app: request ids in its database.

Every signed request a member sends carries a unique id (``jti``) and expires
within 60 s (``federation.envelope``). ``remember_request`` inserts the request's
``issuer:jti`` in the caller's transaction (``appkit.unique_insert.insert_once``)
and raises ``RequestReplayed`` (409) when the key is already there: the check and the
record are one statement, so two processes given the same request at the same
moment cannot both accept it. It runs in the transaction that acts on the
request, so a request whose action rolled back may be sent again.

The per-process ``federation.envelope.ReplayCache`` stays in front of it as a
cache that refuses a replay to the same process without a query. Because the
database remembers across restarts, ``replay_purger`` lifts that cache's start-up
window (``not_before``), which only exists because memory forgets what it saw
before the process started; it also deletes ids whose request expired (beyond the
allowed clock skew) every ``PURGE_EVERY_S``: such a request is refused as expired
before its id is looked at.

Each app declares its table from ``SeenRequestBase`` (node ``seen_request``,
consent service ``consent_seen_request``).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress

import anyio
import sqlalchemy as sa
from fastapi import FastAPI
from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import Field, Session, SQLModel

from appkit.sqltypes import UTCDateTime, utcnow
from appkit.unique_insert import insert_once
from federation.envelope import CLOCK_SKEW_S, VerifiedRequest
from federation.errors import RequestReplayed

PURGE_EVERY_S = 60.0
log = logging.getLogger("joinedup.replay")


class SeenRequestBase(SQLModel):
    """A member's request this app has acted on, until it expires."""

    id: int | None = Field(default=None, primary_key=True)
    request_key: str = Field(max_length=200, unique=True)
    expires_at: dt.datetime = Field(sa_type=UTCDateTime, index=True)


def remember_request(
    *, session: Session, model: type[SeenRequestBase], verified: VerifiedRequest
) -> None:
    """Record the request id in the caller's transaction; ``RequestReplayed`` if seen."""
    values = {
        "request_key": f"{verified.issuer}:{verified.request_id}",
        "expires_at": dt.datetime.fromtimestamp(verified.expires_at, dt.UTC),
    }
    table: sa.Table = model.__table__  # type: ignore[attr-defined]
    if not insert_once(session, table, values, key="request_key"):
        raise RequestReplayed("request id already used")


def purge_expired(
    engine: Engine, model: type[SeenRequestBase], now: dt.datetime | None = None
) -> int:
    """Delete the ids of requests that expired (beyond the clock skew); returns how many."""
    cutoff = (now or utcnow()) - dt.timedelta(seconds=CLOCK_SKEW_S + 1)
    table = model.__table__  # type: ignore[attr-defined]
    with engine.begin() as connection:
        result = connection.execute(sa.delete(table).where(table.c.expires_at < cutoff))
    return int(result.rowcount or 0)


@asynccontextmanager
async def replay_purger(app: FastAPI, model: type[SeenRequestBase]) -> AsyncIterator[None]:
    """Lifespan hook body: lift the in-memory start-up window; purge expired ids."""
    cache = getattr(app.state, "replay_cache", None)
    if cache is not None:
        cache.not_before = 0  # the database, not this process, remembers earlier ids

    async def purge_forever() -> None:
        while True:
            try:
                await anyio.to_thread.run_sync(purge_expired, app.state.engine, model)
            except SQLAlchemyError as exc:
                log.warning("replay purge failed", extra={"exc_type": type(exc).__name__})
            await asyncio.sleep(PURGE_EVERY_S)

    task = asyncio.create_task(purge_forever(), name="replay-purger")
    try:
        yield
    finally:
        task.cancel()
        with suppress(asyncio.CancelledError):
            await task

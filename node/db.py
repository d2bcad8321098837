"""The node's database: engine, Alembic upgrade, per-request session, shared column types.

One engine per app, made in the lifespan by ``make_engine``; the schema is built by
Alembic (``upgrade_database`` upgrades to *heads*: every domain adds its own
revision on top of ``0001_records``), never by ``create_all``. A request gets one
``Session`` through ``SessionDep``: services may ``flush()`` but never commit; the
dependency commits once after the handler (before the response is sent, so a failed
commit is an error answer, not a lost write) or rolls back. No request holds a
connection while it awaits the network: code that read and is about to wait on a
partner calls ``release_connection`` first. ``run_in_session`` keeps
the same contract in a single worker-thread hop, for the partner share endpoint.

Table classes live in ``node/<domain>/models.py``; ``import_node_models`` imports
every such module so Alembic and the schema test see all of them.
"""

from __future__ import annotations

import importlib
import logging
import pkgutil
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Annotated, TypeVar

import anyio
import sqlalchemy as sa
from alembic.config import Config
from fastapi import Depends, Request
from fastapi import Path as PathParam
from sqlalchemy.engine import Engine
from sqlmodel import Session

import node
from appkit import database
from appkit.database_errors import DATABASE_ERRORS
from appkit.sqltypes import NAMING_CONVENTION, UTCDateTime, utcnow
from node.audit.exceptions import AuditUnavailable

__all__ = [
    "DATABASE_ERRORS",
    "NAMING_CONVENTION",
    "RowId",
    "SessionDep",
    "UTCDateTime",
    "alembic_config",
    "get_session",
    "import_node_models",
    "make_engine",
    "run_in_session",
    "node_metadata",
    "release_connection",
    "upgrade_database",
    "utcnow",
]

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
T = TypeVar("T")
log = logging.getLogger("joinedup.node.db")


def make_engine(
    url: str, *, pool_size: int = 20, max_overflow: int = 60, pool_timeout_s: float = 10.0
) -> Engine:
    """The node's engine (``appkit.database.make_engine``).

    Pool size: no request holds a connection while it awaits the network
    (``release_connection``), so connections are held by worker threads (anyio's
    40) and by admitted requests between their handler's thread hop and their
    commit's (``node.admission`` bounds those); the defaults cover both, so a
    checkout never waits on a request that itself waits for a thread. A checkout
    that still waits ``pool_timeout_s`` is answered 503 (``node.admission``), not 500.
    """
    return database.make_engine(
        url, pool_size=pool_size, max_overflow=max_overflow, pool_timeout_s=pool_timeout_s
    )


def alembic_config(connection: sa.Connection | None = None, url: str | None = None) -> Config:
    """Alembic for ``node/migrations``, configured in code (``appkit.database``)."""
    return database.alembic_config(MIGRATIONS_DIR, connection=connection, url=url)


def upgrade_database(url_or_engine: str | Engine, revision: str = "heads") -> None:
    """Bring the schema to ``revision`` (default: every head) in one transaction."""
    if isinstance(url_or_engine, str):
        engine = make_engine(url_or_engine)
        try:
            database.upgrade_database(engine, MIGRATIONS_DIR, revision)
        finally:
            engine.dispose()
    else:
        database.upgrade_database(url_or_engine, MIGRATIONS_DIR, revision)


def import_node_models() -> None:
    """Import every ``node.<domain>.models`` module so its tables join the metadata."""
    for info in pkgutil.iter_modules(node.__path__):
        if not info.ispkg or info.name in {"migrations"}:
            continue
        name = f"node.{info.name}.models"
        try:
            importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name != name:
                raise


def node_metadata() -> sa.MetaData:
    """The node's tables only (consent tables may share SQLModel's metadata in tests)."""
    import_node_models()
    return database.app_metadata("node")


async def get_session(request: Request) -> AsyncIterator[Session]:
    """One session per request: commit after the handler, roll back on any error.

    Creating a ``Session`` does no I/O (it connects on first use, in the handler's
    worker thread), so only commit/rollback + close go to a worker thread: one
    thread hop per request instead of two.
    """
    session = Session(request.app.state.engine, expire_on_commit=False)
    try:
        yield session
    except BaseException:
        await anyio.to_thread.run_sync(_rollback_and_close, session)
        raise
    await anyio.to_thread.run_sync(_commit_and_close, session)


async def run_in_session(engine: Engine, work: Callable[[Session], T]) -> T:
    """``work(session)`` in one worker thread and one transaction: commit, or roll back.

    The same contract as ``SessionDep`` (commit once, before the answer is sent;
    roll back on any error) with one thread hop instead of two, for the partner
    share endpoint, whose answers per second are a DESIGN bar. Its work ends with
    the audit entry, so a database failure means the answer was not recorded: it
    becomes ``AuditUnavailable`` (503) and nothing is released.
    """

    def run() -> T:
        session = Session(engine, expire_on_commit=False)
        try:
            result = work(session)
        except BaseException:
            _rollback_and_close(session)
            raise
        _commit_and_close(session)
        return result

    try:
        return await anyio.to_thread.run_sync(run)
    except DATABASE_ERRORS as exc:
        log.error("request not recorded", extra={"exc_type": type(exc).__name__})
        raise AuditUnavailable("the answer could not be recorded, so it is not released") from exc


def release_connection(session: Session) -> None:
    """End a read-only transaction so the pooled connection goes back to the pool.

    Call it (in the worker thread that read) before awaiting the network: a
    connection held across a partner's round trip starves the pool under load
    (issue 12). Loaded objects stay usable (``expire_on_commit=False`` sessions);
    the session opens a new transaction if it is used again. Refuses to end a
    transaction with pending changes: those are committed once, by the dependency.
    """
    if session.new or session.dirty or session.deleted:
        raise RuntimeError("release_connection on a session with unflushed changes")
    if session.in_transaction():
        session.commit()


def _commit_and_close(session: Session) -> None:
    try:
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


def _rollback_and_close(session: Session) -> None:
    try:
        session.rollback()
    finally:
        session.close()


# scope="function": the commit runs before the response is sent (FastAPI's default
# "request" scope would commit afterwards, so a failed commit could follow a 201).
SessionDep = Annotated[Session, Depends(get_session, scope="function")]

# A primary key in a URL path: bounded so an absurd number is a 422, not a DB overflow.
MAX_ROW_ID = 2_147_483_647
RowId = Annotated[int, PathParam(ge=1, le=MAX_ROW_ID, description="Row id.")]

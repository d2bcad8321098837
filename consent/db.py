"""The consent service's database: engine, Alembic upgrade, per-request session.

Its own database, never shared with a node (DESIGN "Consent"): SQLite by default,
PostgreSQL by URL. One engine per app, made in the lifespan; the schema is built
by Alembic from ``consent/migrations`` (never ``create_all``). A request gets one
``Session`` through ``SessionDep``: services may ``flush()`` but never commit; the
dependency commits once after the handler (before the response is sent) or rolls
back on any error.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated

import sqlalchemy as sa
from alembic.config import Config
from fastapi import Depends, Request
from sqlalchemy.engine import Engine
from sqlmodel import Session

from appkit import database
from appkit.sqltypes import UTCDateTime as UTCDateTime  # re-exported for the tables
from appkit.sqltypes import utcnow as utcnow

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
MODEL_MODULES = (
    "consent.subjects.models",
    "consent.consents.models",
    "consent.customers.models",
    "consent.notices.models",
    "consent.outbox.models",
    "consent.members.models",
)


def make_engine(url: str) -> Engine:
    """The consent service's engine (``appkit.database.make_engine``), a smaller pool."""
    return database.make_engine(url, pool_size=10, max_overflow=10, pool_timeout_s=30.0)


def alembic_config(connection: sa.Connection | None = None, url: str | None = None) -> Config:
    """Alembic for ``consent/migrations``, configured in code (``appkit.database``)."""
    return database.alembic_config(MIGRATIONS_DIR, connection=connection, url=url)


def upgrade_database(engine: Engine, revision: str = "heads") -> None:
    """Bring the schema to ``revision`` (default: every head) in one transaction."""
    database.upgrade_database(engine, MIGRATIONS_DIR, revision)


def consent_metadata() -> sa.MetaData:
    """The consent service's tables only (node tables may share SQLModel's metadata)."""
    for name in MODEL_MODULES:
        importlib.import_module(name)
    return database.app_metadata("consent")


def get_session(request: Request) -> Iterator[Session]:
    """One session per request: commit after the handler, roll back on any error."""
    with Session(request.app.state.engine, expire_on_commit=False) as session:
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise


# scope="function": the commit runs before the response is sent, so a failed
# commit is an error answer rather than a lost write after a 201.
SessionDep = Annotated[Session, Depends(get_session, scope="function")]

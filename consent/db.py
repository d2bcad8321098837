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
from typing import Annotated, Any

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from fastapi import Depends, Request
from sqlalchemy.engine import Engine
from sqlmodel import Session, SQLModel

from appkit.migrate import lock_for_migration
from appkit.sqltypes import UTCDateTime as UTCDateTime  # re-exported for the tables
from appkit.sqltypes import utcnow as utcnow
from consent import NAMING_CONVENTION

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
    """An engine tuned per backend (SQLite: WAL, NORMAL sync, busy timeout, FKs on)."""
    if url.startswith("sqlite"):
        engine = sa.create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})

        @sa.event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.execute("PRAGMA busy_timeout=30000")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.close()

        return engine
    return sa.create_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=10)


def alembic_config(connection: sa.Connection | None = None, url: str | None = None) -> Config:
    """Alembic configured in code (no alembic.ini): script location and file naming."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option("path_separator", "os")
    config.set_main_option("file_template", "%%(year)d_%%(month).2d_%%(day).2d_%%(rev)s_%%(slug)s")
    if url is not None:
        config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    if connection is not None:
        config.attributes["connection"] = connection
    return config


def upgrade_database(engine: Engine, revision: str = "heads") -> None:
    """Bring the schema to ``revision`` (default: every head) in one transaction."""
    with engine.begin() as connection:
        lock_for_migration(connection)
        command.upgrade(alembic_config(connection), revision)


def consent_metadata() -> sa.MetaData:
    """The consent service's tables only (node tables may share SQLModel's metadata)."""
    for name in MODEL_MODULES:
        importlib.import_module(name)
    metadata = sa.MetaData(naming_convention=NAMING_CONVENTION)
    for table in SQLModel.metadata.sorted_tables:
        if table.name.startswith("consent"):
            table.to_metadata(metadata)
    return metadata


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

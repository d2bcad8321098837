"""The database bootstrap both apps share: the engine, the Alembic set-up, the upgrade.

Each app has its own database and its own ``migrations/`` folder, and builds its
schema with Alembic only (never ``create_all``). What is the same for both lives
here: ``make_engine`` (SQLite tuned for a web server, PostgreSQL with pre-ping and a
bounded pool), ``alembic_config`` (Alembic configured in code, no ``alembic.ini``),
``upgrade_database`` (to every head, in one transaction, under the migration lock of
``appkit.migrate``), ``run_migrations``, which is the whole body of each app's
``migrations/env.py``, and ``database_and_keys``, the first step of each app's
lifespan. Each app's ``db.py`` binds these to its own folder and tables.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import anyio
import sqlalchemy as sa
from alembic import command, context
from alembic.config import Config
from fastapi import FastAPI
from sqlalchemy.engine import Engine
from sqlmodel import SQLModel

from appkit.migrate import lock_for_migration
from appkit.sqltypes import NAMING_CONVENTION
from federation.keys import MemberKeys

__all__ = [
    "alembic_config",
    "app_metadata",
    "database_and_keys",
    "make_engine",
    "run_migrations",
    "upgrade_database",
]


def make_engine(
    url: str, *, pool_size: int = 20, max_overflow: int = 60, pool_timeout_s: float = 10.0
) -> Engine:
    """An engine tuned per backend (SQLite: WAL, NORMAL sync, busy timeout, FKs on).

    A checkout that waits ``pool_timeout_s`` raises SQLAlchemy's ``TimeoutError``,
    which ``appkit.database_errors`` answers 503, not 500.
    """
    pool: dict[str, Any] = {
        "pool_size": pool_size,
        "max_overflow": max_overflow,
        "pool_timeout": pool_timeout_s,
    }
    if url.startswith("sqlite"):
        if sa.make_url(url).database in (None, "", ":memory:"):
            pool = {}  # an in-memory database has a single-connection pool of its own
        connect_args = {"check_same_thread": False, "timeout": 30}
        engine = sa.create_engine(url, connect_args=connect_args, **pool)

        @sa.event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
            cursor = dbapi_connection.cursor()
            # WAL lets readers run beside the single writer; NORMAL is durable in WAL
            # except for the last transactions on power loss, the usual trade-off.
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.execute("PRAGMA busy_timeout=30000")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.close()

        return engine
    return sa.create_engine(url, pool_pre_ping=True, **pool)


def alembic_config(
    migrations_dir: Path, *, connection: sa.Connection | None = None, url: str | None = None
) -> Config:
    """Alembic configured in code (no alembic.ini needed): script location + target."""
    config = Config()
    config.set_main_option("script_location", str(migrations_dir))
    config.set_main_option("path_separator", "os")
    # Revisions are named by date and slug (STYLE "Database habits").
    config.set_main_option("file_template", "%%(year)d_%%(month).2d_%%(day).2d_%%(rev)s_%%(slug)s")
    if url is not None:
        config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    if connection is not None:
        config.attributes["connection"] = connection
    return config


def upgrade_database(engine: Engine, migrations_dir: Path, revision: str = "heads") -> None:
    """Bring the schema to ``revision`` (default: every head) in one transaction."""
    with engine.begin() as connection:
        lock_for_migration(connection)
        command.upgrade(alembic_config(migrations_dir, connection=connection), revision)


def app_metadata(package: str) -> sa.MetaData:
    """The tables whose SQLModel classes live in ``package`` (e.g. "node"), and no others.

    Both apps' table classes share SQLModel's one metadata when a process imports
    both (the tests, the CLI); a table belongs to the app whose package defines its
    class, whatever its name (the node's ``consent_change`` is the node's).
    """
    own = {
        str(getattr(mapper.local_table, "name", ""))
        for mapper in SQLModel._sa_registry.mappers
        if mapper.class_.__module__.startswith(package + ".")
    }
    metadata = sa.MetaData(naming_convention=NAMING_CONVENTION)
    for table in SQLModel.metadata.sorted_tables:
        if table.name in own:
            table.to_metadata(metadata)
    return metadata


def run_migrations(target_metadata: sa.MetaData) -> None:
    """The body of an app's ``migrations/env.py``, for SQLite and PostgreSQL alike.

    ``upgrade_database`` hands over an open connection
    (``config.attributes["connection"]``); otherwise ``sqlalchemy.url`` is used, as
    the ``alembic`` command does. SQLite needs batch mode to alter tables, so it is
    always on.
    """
    config = context.config
    if context.is_offline_mode():
        context.configure(
            url=config.get_main_option("sqlalchemy.url"),
            target_metadata=target_metadata,
            literal_binds=True,
            render_as_batch=True,
        )
        with context.begin_transaction():
            context.run_migrations()
        return
    connection = config.attributes.get("connection")
    if connection is not None:
        _run_online(connection, target_metadata)
        return
    engine = make_engine(config.get_main_option("sqlalchemy.url") or "")
    try:
        with engine.begin() as owned:
            _run_online(owned, target_metadata)
    finally:
        engine.dispose()


def _run_online(connection: sa.Connection, target_metadata: sa.MetaData) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=True,
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


@asynccontextmanager
async def database_and_keys(
    app: FastAPI, *, engine: Engine, upgrade: Callable[[Engine], None]
) -> AsyncIterator[MemberKeys]:
    """The first step of an app's lifespan: its data directory, schema, engine and keys.

    Makes ``settings.data_dir``, brings the schema to every head with ``upgrade``
    (unless ``settings.migrate_on_start`` is off, where a Job or ``serve`` migrates),
    loads or creates the app's keys, and puts ``engine`` and ``keys`` on
    ``app.state``; the engine is disposed when the block ends. Blocking work runs in
    worker threads.
    """
    settings = app.state.settings
    try:
        await anyio.to_thread.run_sync(lambda: settings.data_dir.mkdir(parents=True, exist_ok=True))
        if settings.migrate_on_start:
            await anyio.to_thread.run_sync(upgrade, engine)
        keys = await anyio.to_thread.run_sync(MemberKeys.load_or_create, settings.data_dir)
        app.state.engine = engine
        app.state.keys = keys
        yield keys
    finally:
        engine.dispose()

"""One row under a unique key, inserted once: the check and the record in one statement.

``insert_once`` is how a receiver remembers what it has acted on (a request id in
the replay cache, a message's idempotency key): ``INSERT ... ON CONFLICT DO
NOTHING RETURNING`` on SQLite and PostgreSQL, so two processes given the same key
at the same moment cannot both pass, and a repeat costs no savepoint or exception
(this is on the partner endpoints' hot path). Other databases fall back to an
insert inside a savepoint that treats the unique-key violation as "seen".
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

# Both dialects' insert() builds an INSERT that takes ``on_conflict_do_nothing``.
_UPSERT: dict[str, Callable[[sa.Table], Any]] = {
    "sqlite": sqlite.insert,
    "postgresql": postgresql.insert,
}


def insert_once(session: Session, table: sa.Table, values: Mapping[str, Any], *, key: str) -> bool:
    """Insert ``values`` in the caller's transaction; False if a row with that ``key`` exists."""
    connection = session.connection()
    upsert = _UPSERT.get(connection.dialect.name)
    if upsert is not None:
        statement = (
            upsert(table)
            .values(**values)
            .on_conflict_do_nothing(index_elements=[key])
            .returning(table.c[key])
        )
        # RETURNING, not rowcount: psycopg reports -1 for an INSERT ... ON CONFLICT.
        return connection.execute(statement).first() is not None
    try:
        with connection.begin_nested():
            connection.execute(table.insert().values(**values))
    except IntegrityError:
        return False
    return True

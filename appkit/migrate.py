"""Serialising schema migrations between processes that start at the same moment.

Two replicas (or a migration Job and a replica) upgrading one PostgreSQL database
at once would race to create the same tables. ``lock_for_migration`` takes a
transaction-scoped advisory lock first, so the second waits, then finds the
schema current and does nothing. SQLite needs nothing: its writer lock already
serialises the upgrade transaction.
"""

from __future__ import annotations

import sqlalchemy as sa

# Any constant both apps agree on; each app has its own database, so one key will do.
MIGRATION_LOCK_KEY = 0x6A6F696E6564  # "joined"


def lock_for_migration(connection: sa.Connection) -> None:
    """Hold the migration lock until the connection's transaction ends (PostgreSQL)."""
    if connection.dialect.name == "postgresql":
        connection.execute(
            sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK_KEY}
        )

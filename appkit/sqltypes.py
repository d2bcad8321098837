"""Column types, constraint names and the clock shared by both apps' tables.

Constraints are named by ``NAMING_CONVENTION`` (each app's package ``__init__``
gives it to SQLModel's metadata before any table class is defined), so Alembic
migrations can refer to them on SQLite and PostgreSQL alike. Every timestamp is
stored as UTC and read back timezone-aware: SQLite keeps no zone, PostgreSQL's
``timestamptz`` does; ``UTCDateTime`` hides the difference.
"""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> datetime:
    """Timezone-aware now in UTC: the only clock table defaults use."""
    return datetime.now(UTC)


class UTCDateTime(sa.types.TypeDecorator[datetime]):
    """A timestamp stored as UTC and always read back timezone-aware.

    SQLite keeps no zone, so values come back naive; this restores UTC on the way
    out and refuses naive datetimes on the way in (they are ambiguous).
    """

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: sa.Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given for a UTC column")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: sa.Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)

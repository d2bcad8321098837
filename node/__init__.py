"""node: one organisation's node (FastAPI app, its own database, staff, keys).

Importing any ``node.*`` module first runs this file, which gives SQLModel's shared
metadata the constraint naming convention (``node.db.NAMING_CONVENTION``) before any
table class is defined, so every node table gets deterministic constraint names that
Alembic migrations can refer to on SQLite and PostgreSQL alike.
"""

from sqlmodel import SQLModel

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}
SQLModel.metadata.naming_convention = NAMING_CONVENTION

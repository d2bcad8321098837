"""node: one organisation's node (FastAPI app, its own database, staff, keys).

Importing any ``node.*`` module first runs this file, which gives SQLModel's shared
metadata the constraint naming convention (``appkit.sqltypes.NAMING_CONVENTION``) before any
table class is defined, so every node table gets deterministic constraint names that
Alembic migrations can refer to on SQLite and PostgreSQL alike.
"""

from sqlmodel import SQLModel

from appkit.sqltypes import NAMING_CONVENTION

SQLModel.metadata.naming_convention = NAMING_CONVENTION

"""Alembic environment for the node database: ``appkit.database.run_migrations``.

The target metadata is the node's tables only (``node.db.node_metadata``).
"""

from appkit.database import run_migrations
from node.db import node_metadata

run_migrations(node_metadata())

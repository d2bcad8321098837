"""Alembic migrations for the node schema (configured in code by ``node.db``)."""

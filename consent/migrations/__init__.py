"""Alembic migrations of the consent service's own database."""

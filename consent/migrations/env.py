"""Alembic environment for the consent database: ``appkit.database.run_migrations``.

The target metadata is the consent service's tables only (``consent.db.consent_metadata``).
"""

from appkit.database import run_migrations
from consent.db import consent_metadata

run_migrations(consent_metadata())

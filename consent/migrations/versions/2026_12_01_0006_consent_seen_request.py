"""The consent service's replay cache in its database: ``consent_seen_request``.

Revision ID: 0006_consent_seen_request
Revises: 0005_consent_outbox
Create Date: 2026-12-01 17:10:00
"""

from collections.abc import Sequence

from appkit.migration import create_seen_request_table, drop_seen_request_table

revision: str = "0006_consent_seen_request"
down_revision: str | Sequence[str] | None = "0005_consent_outbox"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    create_seen_request_table("consent_seen_request")


def downgrade() -> None:
    drop_seen_request_table("consent_seen_request")

"""The node's replay cache in its database: ``seen_request`` (appkit.replay).

Revision ID: 0021_seen_request
Revises: 0020_outbox
Create Date: 2026-12-01 16:50:00
"""

from collections.abc import Sequence

from appkit.migration import create_seen_request_table, drop_seen_request_table

revision: str = "0021_seen_request"
down_revision: str | Sequence[str] | None = "0020_outbox"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    create_seen_request_table("seen_request")


def downgrade() -> None:
    drop_seen_request_table("seen_request")

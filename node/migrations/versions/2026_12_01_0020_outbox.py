"""The node's outbox and delivery receipts (node/outbox, appkit.outbox).

Revision ID: 0020_outbox
Revises: 0001_records
Create Date: 2026-12-01 16:40:00
"""

from collections.abc import Sequence

from appkit.migration import create_outbox_tables, drop_outbox_tables

revision: str = "0020_outbox"
down_revision: str | Sequence[str] | None = "0001_records"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    create_outbox_tables("outbox_message", "delivery_receipt")


def downgrade() -> None:
    drop_outbox_tables("outbox_message", "delivery_receipt")

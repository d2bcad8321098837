"""The consent service's outbox and delivery receipts (consent/outbox, appkit.outbox).

Revision ID: 0005_consent_outbox
Revises: 0003_consent_notice
Create Date: 2026-12-01 16:40:00
"""

from collections.abc import Sequence

from appkit.migration import create_outbox_tables, drop_outbox_tables

revision: str = "0005_consent_outbox"
down_revision: str | Sequence[str] | None = "0003_consent_notice"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    create_outbox_tables("consent_outbox_message", "consent_delivery_receipt")


def downgrade() -> None:
    drop_outbox_tables("consent_outbox_message", "consent_delivery_receipt")

"""Consent changes per subject, keying the requester's consent-token cache.

Revision ID: 0060_consent_change
Revises: 0010_revocations
Create Date: 2026-12-01 20:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0060_consent_change"
down_revision: str | Sequence[str] | None = "0010_revocations"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "consent_change",
        sa.Column("subject_id", sa.String(length=128), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("changed_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("subject_id", name=op.f("pk_consent_change")),
    )


def downgrade() -> None:
    op.drop_table("consent_change")

"""Notices say what each holder released, so the portal can list it per organisation.

Revision ID: 0005_notice_released
Revises: 0004_consent_sign_in
Create Date: 2026-12-01 16:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005_notice_released"
down_revision: str | Sequence[str] | None = "0004_consent_sign_in"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("consent_notice", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("released", sa.JSON(), nullable=False, server_default=sa.text("'{}'"))
        )


def downgrade() -> None:
    with op.batch_alter_table("consent_notice", schema=None) as batch_op:
        batch_op.drop_column("released")

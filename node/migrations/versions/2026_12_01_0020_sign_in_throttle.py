"""Failed sign-ins, per username and per client address (appkit.throttle).

Revision ID: 0020_sign_in_throttle
Revises: 0001_records
Create Date: 2026-12-01 16:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0020_sign_in_throttle"
down_revision: str | Sequence[str] | None = "0001_records"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "sign_in_throttle",
        sa.Column("key_hash", sa.String(length=64), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("window_start_s", sa.Float(), nullable=False),
        sa.Column("locked_until_s", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("key_hash", name=op.f("pk_sign_in_throttle")),
    )
    op.create_index(
        op.f("ix_sign_in_throttle_window_start_s"),
        "sign_in_throttle",
        ["window_start_s"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_sign_in_throttle_window_start_s"), table_name="sign_in_throttle")
    op.drop_table("sign_in_throttle")

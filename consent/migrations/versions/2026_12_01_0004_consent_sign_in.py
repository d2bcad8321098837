"""Customer sign-in: failed sign-ins (appkit.throttle) and recovery codes.

``consent_activation`` rows gain a purpose (``activation`` or ``recovery``) and who
issued them; existing rows were activation codes issued by the account's creator.

Revision ID: 0004_consent_sign_in
Revises: 0003_consent_notice
Create Date: 2026-12-01 16:45:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004_consent_sign_in"
down_revision: str | Sequence[str] | None = "0003_consent_notice"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "consent_sign_in_throttle",
        sa.Column("key_hash", sa.String(length=64), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("window_start_s", sa.Float(), nullable=False),
        sa.Column("locked_until_s", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("key_hash", name=op.f("pk_consent_sign_in_throttle")),
    )
    op.create_index(
        op.f("ix_consent_sign_in_throttle_window_start_s"),
        "consent_sign_in_throttle",
        ["window_start_s"],
        unique=False,
    )
    with op.batch_alter_table("consent_activation", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("purpose", sa.String(length=16), nullable=False, server_default="activation")
        )
        batch_op.add_column(sa.Column("issued_by", sa.String(length=64), nullable=True))
    op.execute(
        "UPDATE consent_activation SET issued_by = (SELECT created_by FROM consent_customer "
        "WHERE consent_customer.id = consent_activation.account_id)"
    )
    with op.batch_alter_table("consent_activation", schema=None) as batch_op:
        batch_op.alter_column("purpose", server_default=None)


def downgrade() -> None:
    with op.batch_alter_table("consent_activation", schema=None) as batch_op:
        batch_op.drop_column("issued_by")
        batch_op.drop_column("purpose")
    op.drop_index(
        op.f("ix_consent_sign_in_throttle_window_start_s"), table_name="consent_sign_in_throttle"
    )
    op.drop_table("consent_sign_in_throttle")

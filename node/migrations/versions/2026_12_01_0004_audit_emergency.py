"""Audit: an emergency's basis and justification in entries (format 2); the tamper alarm.

Both columns are nullable: entries written before carry neither and keep their
format-1 canonical bytes, so every existing leaf hash, subtree and signed tree head
still verifies (node/audit/models.py). ``audit_alarm`` records tampering found
before a tree head was signed; an open alarm stops signing (node/audit/guard.py).

Revision ID: 0004_audit_emergency
Revises: 0002_audit
Create Date: 2026-12-01 16:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004_audit_emergency"
down_revision: str | Sequence[str] | None = "0002_audit"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("audit_entry", schema=None) as batch_op:
        batch_op.add_column(sa.Column("emergency_basis", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("justification", sa.Text(), nullable=True))
    op.create_table(
        "audit_alarm",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("raised_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("tree_size", sa.BigInteger(), nullable=False),
        sa.Column("first_bad_index", sa.BigInteger(), nullable=False),
        sa.Column("detail", sa.String(length=200), nullable=False),
        sa.Column("cleared_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("cleared_note", sa.String(length=500), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_alarm")),
    )


def downgrade() -> None:
    op.drop_table("audit_alarm")
    with op.batch_alter_table("audit_entry", schema=None) as batch_op:
        batch_op.drop_column("justification")
        batch_op.drop_column("emergency_basis")

"""Notices to customers (emergency access: the notify_customer obligation).

Revision ID: 0003_consent_notice
Revises: 0002_consent_enrolment
Create Date: 2026-12-01 08:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003_consent_notice"
down_revision: str | Sequence[str] | None = "0002_consent_enrolment"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "consent_notice",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("subject_id", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("from_org", sa.String(length=64), nullable=False),
        sa.Column("view_id", sa.String(length=128), nullable=False),
        sa.Column("basis", sa.String(length=64), nullable=False),
        sa.Column("purpose", sa.String(length=64), nullable=False),
        sa.Column("holders", sa.JSON(), nullable=False),
        sa.Column("categories", sa.JSON(), nullable=False),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("read_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["subject_id"],
            ["consent_subject.id"],
            name=op.f("fk_consent_notice_subject_id_consent_subject"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_consent_notice")),
        sa.UniqueConstraint("from_org", "view_id", name=op.f("uq_consent_notice_from_org")),
    )
    with op.batch_alter_table("consent_notice", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_consent_notice_subject_id"), ["subject_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("consent_notice", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_consent_notice_subject_id"))
    op.drop_table("consent_notice")

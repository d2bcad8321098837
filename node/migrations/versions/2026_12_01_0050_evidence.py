"""Evidence: the queries a node took part in (``evidence_participation``), and a covering
index on ``need (person_id, category, since, status, updated_at)`` for counting open
needs by month.

Revision ID: 0050_evidence
Revises: 0001_records
Create Date: 2026-12-01 20:10:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0050_evidence"
down_revision: str | Sequence[str] | None = "0001_records"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "evidence_participation",
        sa.Column("query_id", sa.String(length=64), nullable=False),
        sa.Column("evidence_id", sa.String(length=64), nullable=False),
        sa.Column("requester_org", sa.String(length=64), nullable=False),
        sa.Column("question", sa.String(length=64), nullable=False),
        sa.Column("query_digest", sa.String(length=64), nullable=False),
        sa.Column("joined_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("contributed_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("query_id", name=op.f("pk_evidence_participation")),
    )
    with op.batch_alter_table("evidence_participation", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_evidence_participation_evidence_id"), ["evidence_id"], unique=False
        )
    op.create_index(
        "ix_need_evidence", "need", ["person_id", "category", "since", "status", "updated_at"]
    )


def downgrade() -> None:
    op.drop_index("ix_need_evidence", table_name="need")
    with op.batch_alter_table("evidence_participation", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_evidence_participation_evidence_id"))
    op.drop_table("evidence_participation")

"""Link review queue: link requests waiting for a person to confirm or reject.

Revision ID: 0003_links_review
Revises: 0001_records
Create Date: 2026-11-23 19:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003_links_review"
down_revision: str | Sequence[str] | None = "0001_records"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "link_review",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("subject_id", sa.String(length=128), nullable=False),
        sa.Column("requested_by", sa.String(length=64), nullable=False),
        sa.Column("request_id", sa.String(length=128), nullable=False),
        sa.Column("reason", sa.String(length=200), nullable=False),
        sa.Column("candidate_person_ids", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("resolved_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("resolved_by", sa.String(length=128), nullable=True),
        sa.Column("person_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["person_id"], ["person.id"], name=op.f("fk_link_review_person_id_person")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_link_review")),
    )
    with op.batch_alter_table("link_review", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_link_review_status"), ["status"], unique=False)
        batch_op.create_index(batch_op.f("ix_link_review_subject_id"), ["subject_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("link_review", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_link_review_subject_id"))
        batch_op.drop_index(batch_op.f("ix_link_review_status"))
    op.drop_table("link_review")

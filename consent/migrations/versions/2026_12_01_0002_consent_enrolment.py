"""Enrolments: which member organisations enrolled each subject.

Only a member that enrolled a subject may record that person's consent decisions
(``POST /federation/grants``, ``/federation/consents/revoke``). Existing subjects
get their first enroller.

Revision ID: 0002_consent_enrolment
Revises: 0001_consent
Create Date: 2026-12-01 08:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002_consent_enrolment"
down_revision: str | Sequence[str] | None = "0001_consent"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "consent_enrolment",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("subject_id", sa.String(length=64), nullable=False),
        sa.Column("org_id", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["subject_id"],
            ["consent_subject.id"],
            name=op.f("fk_consent_enrolment_subject_id_consent_subject"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_consent_enrolment")),
        sa.UniqueConstraint("subject_id", "org_id", name=op.f("uq_consent_enrolment_subject_id")),
    )
    with op.batch_alter_table("consent_enrolment", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_consent_enrolment_subject_id"), ["subject_id"], unique=False
        )
    op.execute(
        "INSERT INTO consent_enrolment (subject_id, org_id, created_at) "
        "SELECT id, enrolled_by, created_at FROM consent_subject"
    )


def downgrade() -> None:
    with op.batch_alter_table("consent_enrolment", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_consent_enrolment_subject_id"))
    op.drop_table("consent_enrolment")

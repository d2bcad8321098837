"""Initial consent schema: subjects and linkage tokens, consents with versioned
provisions and an append-only event log, customer accounts and activation codes.

Revision ID: 0001_consent
Revises: (none)
Create Date: 2026-11-23 19:23:57.997603
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001_consent"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "consent_subject",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("enrolled_by", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_consent_subject")),
    )
    op.create_table(
        "consent",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("subject_id", sa.String(length=64), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("grantor_kind", sa.String(length=16), nullable=False),
        sa.Column("grantor_name", sa.String(length=200), nullable=True),
        sa.Column("recorded_by", sa.String(length=64), nullable=False),
        sa.Column("period_start", sa.DateTime(timezone=True), nullable=False),
        sa.Column("period_end", sa.DateTime(timezone=True), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["subject_id"],
            ["consent_subject.id"],
            name=op.f("fk_consent_subject_id_consent_subject"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_consent")),
    )
    with op.batch_alter_table("consent", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_consent_subject_id"), ["subject_id"], unique=False)

    op.create_table(
        "consent_customer",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("subject_id", sa.String(length=64), nullable=False),
        sa.Column("username", sa.String(length=64), nullable=False),
        sa.Column("password_hash", sa.String(length=255), nullable=True),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_by", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("activated_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["subject_id"],
            ["consent_subject.id"],
            name=op.f("fk_consent_customer_subject_id_consent_subject"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_consent_customer")),
        sa.UniqueConstraint("subject_id", name=op.f("uq_consent_customer_subject_id")),
        sa.UniqueConstraint("username", name=op.f("uq_consent_customer_username")),
    )
    op.create_table(
        "consent_linkage_token",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("token", sa.String(length=128), nullable=False),
        sa.Column("subject_id", sa.String(length=64), nullable=False),
        sa.Column("added_by", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["subject_id"],
            ["consent_subject.id"],
            name=op.f("fk_consent_linkage_token_subject_id_consent_subject"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_consent_linkage_token")),
        sa.UniqueConstraint("token", name=op.f("uq_consent_linkage_token_token")),
    )
    with op.batch_alter_table("consent_linkage_token", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_consent_linkage_token_subject_id"), ["subject_id"], unique=False
        )

    op.create_table(
        "consent_activation",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("code_hash", sa.String(length=64), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["consent_customer.id"],
            name=op.f("fk_consent_activation_account_id_consent_customer"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_consent_activation")),
        sa.UniqueConstraint("code_hash", name=op.f("uq_consent_activation_code_hash")),
    )
    with op.batch_alter_table("consent_activation", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_consent_activation_account_id"), ["account_id"], unique=False
        )

    op.create_table(
        "consent_event",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("consent_id", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(length=64), nullable=False),
        sa.Column("snapshot", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["consent_id"], ["consent.id"], name=op.f("fk_consent_event_consent_id_consent")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_consent_event")),
    )
    with op.batch_alter_table("consent_event", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_consent_event_consent_id"), ["consent_id"], unique=False
        )

    op.create_table(
        "consent_provision",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("consent_id", sa.String(length=64), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("purposes", sa.JSON(), nullable=False),
        sa.Column("recipients", sa.JSON(), nullable=False),
        sa.Column("categories", sa.JSON(), nullable=False),
        sa.Column("actions", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["consent_id"], ["consent.id"], name=op.f("fk_consent_provision_consent_id_consent")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_consent_provision")),
    )
    with op.batch_alter_table("consent_provision", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_consent_provision_consent_id"), ["consent_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("consent_provision", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_consent_provision_consent_id"))

    op.drop_table("consent_provision")
    with op.batch_alter_table("consent_event", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_consent_event_consent_id"))

    op.drop_table("consent_event")
    with op.batch_alter_table("consent_activation", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_consent_activation_account_id"))

    op.drop_table("consent_activation")
    with op.batch_alter_table("consent_linkage_token", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_consent_linkage_token_subject_id"))

    op.drop_table("consent_linkage_token")
    op.drop_table("consent_customer")
    with op.batch_alter_table("consent", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_consent_subject_id"))

    op.drop_table("consent")
    op.drop_table("consent_subject")

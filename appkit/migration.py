"""appkit's tables as Alembic operations, for each app's migration that creates them.

Both apps create the same tables under their own names (the outbox and receipts,
``appkit.outbox.models``; the replay cache, ``appkit.replay``); their migrations
call these. The functions describe the tables as they were
first created: a later change to the columns gets a new migration (and, if shared,
a new function here), never an edit of these.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

INDEXED = ("destination", "status", "next_attempt_at")


def create_outbox_tables(messages: str, receipts: str) -> None:
    """Create ``messages`` (outbox messages) and ``receipts`` (delivery receipts)."""
    op.create_table(
        messages,
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=64), nullable=False),
        sa.Column("destination", sa.String(length=64), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("idempotency_key", sa.String(length=64), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("lease_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.String(length=200), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("delivered_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f(f"pk_{messages}")),
        sa.UniqueConstraint("idempotency_key", name=op.f(f"uq_{messages}_idempotency_key")),
    )
    with op.batch_alter_table(messages, schema=None) as batch_op:
        for column in INDEXED:
            batch_op.create_index(batch_op.f(f"ix_{messages}_{column}"), [column], unique=False)
    op.create_table(
        receipts,
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("receipt_key", sa.String(length=200), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f(f"pk_{receipts}")),
        sa.UniqueConstraint("receipt_key", name=op.f(f"uq_{receipts}_receipt_key")),
    )


def drop_outbox_tables(messages: str, receipts: str) -> None:
    """Drop what ``create_outbox_tables`` created."""
    op.drop_table(receipts)
    with op.batch_alter_table(messages, schema=None) as batch_op:
        for column in INDEXED:
            batch_op.drop_index(batch_op.f(f"ix_{messages}_{column}"))
    op.drop_table(messages)


def create_seen_request_table(name: str) -> None:
    """Create the replay cache table ``name`` (``appkit.replay.SeenRequestBase``)."""
    op.create_table(
        name,
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("request_key", sa.String(length=200), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f(f"pk_{name}")),
        sa.UniqueConstraint("request_key", name=op.f(f"uq_{name}_request_key")),
    )
    with op.batch_alter_table(name, schema=None) as batch_op:
        batch_op.create_index(batch_op.f(f"ix_{name}_expires_at"), ["expires_at"], unique=False)


def drop_seen_request_table(name: str) -> None:
    """Drop what ``create_seen_request_table`` created."""
    with op.batch_alter_table(name, schema=None) as batch_op:
        batch_op.drop_index(batch_op.f(f"ix_{name}_expires_at"))
    op.drop_table(name)

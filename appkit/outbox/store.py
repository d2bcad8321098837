"""Writing, claiming and settling outbox messages; the receiver's receipts.

``enqueue`` adds a message in the caller's session, so it commits or rolls back
with the change it announces (the transactional outbox: no revocation without its
push, no push of a revocation that was rolled back). It never commits.

``claim_due`` is the one statement that hands messages to a worker: an
``UPDATE … WHERE id IN (SELECT … LIMIT n) RETURNING …`` that sets a lease and
counts the attempt. On PostgreSQL the inner select takes ``FOR UPDATE SKIP
LOCKED``, so concurrent workers in any number of processes take disjoint rows
without waiting on each other; SQLite has a single writer, so the same statement
is atomic there as it stands. A row whose lease ran out (its worker died) is due
again. The claim commits before any network I/O: no connection is held while a
message is in flight.

``first_delivery`` is the receiver's half: one insert of ``sender:key`` into a
unique column (``appkit.unique_insert.insert_once``). A second delivery of the same message (a retry
after a lost answer, a takeover after a lease ran out) fails that insert, and the
receiver answers as before without acting again. An insert, not a read-then-write,
so two concurrent deliveries cannot both pass.
"""

from __future__ import annotations

import datetime as dt
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, func, select

from appkit.outbox.models import MAX_ERROR_CHARS, DeliveryReceiptBase, OutboxMessageBase
from appkit.sqltypes import utcnow
from appkit.unique_insert import insert_once

Message = TypeVar("Message", bound=OutboxMessageBase)


@dataclass(frozen=True)
class ClaimedMessage:
    """A message a worker holds under lease; plain data, detached from any session."""

    id: int
    kind: str
    destination: str
    payload: dict[str, Any]
    idempotency_key: str
    attempts: int


def new_idempotency_key() -> str:
    return "idk_" + secrets.token_urlsafe(18)


def enqueue(
    *,
    session: Session,
    model: type[Message],
    kind: str,
    destination: str,
    payload: dict[str, Any],
    now: dt.datetime | None = None,
    idempotency_key: str | None = None,
) -> Message:
    """Add a pending message in the caller's transaction (flushes, never commits).

    ``idempotency_key`` names the message for its receiver's receipt when the
    domain has a natural one (a referral id); a random key otherwise.
    """
    at = now or utcnow()
    row = model(
        kind=kind,
        destination=destination,
        payload=payload,
        idempotency_key=idempotency_key or new_idempotency_key(),
        next_attempt_at=at,
        created_at=at,
    )
    session.add(row)
    session.flush()
    return row


def claim_due(
    engine: Engine,
    model: type[OutboxMessageBase],
    *,
    now: dt.datetime,
    lease_s: float,
    limit: int,
    kinds: Sequence[str],
) -> list[ClaimedMessage]:
    """Lease up to ``limit`` due messages of ``kinds`` and count the attempt (commits).

    Only kinds the caller can send: during a rolling upgrade an older process
    leaves a newer kind to the processes that know it.
    """
    table: sa.Table = model.__table__  # type: ignore[attr-defined]
    due = (
        sa.select(table.c.id)
        .where(
            table.c.status == "pending",
            table.c.kind.in_(list(kinds)),
            table.c.next_attempt_at <= now,
            sa.or_(table.c.lease_until.is_(None), table.c.lease_until < now),
        )
        .order_by(table.c.next_attempt_at, table.c.id)
        .limit(limit)
    )
    if engine.dialect.name == "postgresql":
        due = due.with_for_update(skip_locked=True)
    claim = (
        sa.update(table)
        .where(table.c.id.in_(due.scalar_subquery()))
        .values(lease_until=now + dt.timedelta(seconds=lease_s), attempts=table.c.attempts + 1)
        .returning(
            table.c.id,
            table.c.kind,
            table.c.destination,
            table.c.payload,
            table.c.idempotency_key,
            table.c.attempts,
        )
    )
    with engine.begin() as connection:
        rows = sorted(connection.execute(claim).all(), key=lambda row: row.id)
    return [
        ClaimedMessage(
            id=row.id,
            kind=row.kind,
            destination=row.destination,
            payload=row.payload,
            idempotency_key=row.idempotency_key,
            attempts=row.attempts,
        )
        for row in rows
    ]


def mark_delivered(
    *, session: Session, model: type[OutboxMessageBase], message_id: int, now: dt.datetime
) -> bool:
    """Settle a message as delivered; False if it was no longer pending."""
    row = session.get(model, message_id)
    if row is None or row.status != "pending":
        return False
    row.status = "delivered"
    row.delivered_at = now
    row.lease_until = None
    row.last_error = None
    session.add(row)
    return True


def mark_failed(
    *,
    session: Session,
    model: type[OutboxMessageBase],
    message_id: int,
    attempt: int,
    error: str,
    retry_at: dt.datetime | None,
) -> OutboxMessageBase | None:
    """Record failed attempt number ``attempt``: due again at ``retry_at``, or dead if None.

    A stale report (the lease ran out and another worker has claimed the message
    since, so ``attempts`` moved on) changes nothing: that worker settles it.
    """
    row = session.get(model, message_id)
    if row is None or row.status != "pending" or row.attempts != attempt:
        return None
    row.last_error = error[:MAX_ERROR_CHARS]
    row.lease_until = None
    if retry_at is None:
        row.status = "dead"
    else:
        row.next_attempt_at = retry_at
    session.add(row)
    return row


def list_messages(
    *,
    session: Session,
    model: type[Message],
    status: str | None = None,
    limit: int = 200,
) -> Sequence[Message]:
    """Messages, newest first, optionally of one status."""
    query = select(model).order_by(col(model.id).desc()).limit(limit)
    if status is not None:
        query = query.where(model.status == status)
    return session.exec(query).all()


def count_by_status(*, session: Session, model: type[OutboxMessageBase]) -> dict[str, int]:
    """How many messages are pending, delivered and dead."""
    rows = session.exec(select(model.status, func.count()).group_by(model.status)).all()
    return {status: int(count) for status, count in rows}


def retry_message(
    *,
    session: Session,
    model: type[Message],
    message_id: int,
    now: dt.datetime | None = None,
) -> Message | None:
    """Make a dead (or waiting) message due now with a fresh count of attempts.

    Its idempotency key stays, so a message that did arrive before it was given up
    on is still acted on once. None if there is no such message or it was delivered.
    """
    row = session.get(model, message_id)
    if row is None or row.status == "delivered":
        return None
    row.status = "pending"
    row.attempts = 0
    row.next_attempt_at = now or utcnow()
    row.lease_until = None
    session.add(row)
    return row


def first_delivery(
    *,
    session: Session,
    model: type[DeliveryReceiptBase],
    sender: str,
    idempotency_key: str,
) -> bool:
    """Record that ``sender``'s message ``idempotency_key`` is acted on; False if it was."""
    table: sa.Table = model.__table__  # type: ignore[attr-defined]
    values = {"receipt_key": f"{sender}:{idempotency_key}", "received_at": utcnow()}
    return insert_once(session, table, values, key="receipt_key")

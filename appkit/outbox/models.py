"""The columns of an outbox message and of a delivery receipt, shared by both apps.

Each app declares its own table from these bases (the node ``outbox_message`` and
``delivery_receipt``; the consent service ``consent_outbox_message`` and
``consent_delivery_receipt``) so each app's Alembic history owns its tables; the
code that works on them (``appkit.outbox.store``, ``appkit.outbox.worker``) takes
the table class as an argument and is written once.

A message is ``pending`` until delivered (``delivered``) or until it has failed
``max_attempts`` times or been refused outright (``dead``, the dead letter). While
a worker holds it, ``lease_until`` is set: another worker may take it over only
after the lease runs out, which is how a message claimed by a killed worker is
delivered after all. ``payload`` is the signed request's body, kept so that every
attempt can be signed afresh (a new request id each time, as the receiver's replay
cache demands) under the same ``idempotency_key``.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from appkit.sqltypes import UTCDateTime, utcnow

OutboxStatus = Literal["pending", "delivered", "dead"]
STATUSES: tuple[OutboxStatus, ...] = ("pending", "delivered", "dead")
MAX_ERROR_CHARS = 200


class OutboxMessageBase(SQLModel):
    """One message a party sends on its own, to one destination."""

    id: int | None = Field(default=None, primary_key=True)
    kind: str = Field(max_length=64, description="What the message is, e.g. revocation_push.")
    destination: str = Field(max_length=64, index=True, description="Receiving member's org id.")
    payload: dict[str, Any] = Field(sa_type=sa.JSON)
    idempotency_key: str = Field(max_length=64, unique=True)
    status: str = Field(default="pending", max_length=16, index=True)
    attempts: int = Field(default=0, ge=0)
    next_attempt_at: dt.datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, index=True)
    lease_until: dt.datetime | None = Field(default=None, sa_type=UTCDateTime)
    last_error: str | None = Field(default=None, max_length=MAX_ERROR_CHARS)
    created_at: dt.datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    delivered_at: dt.datetime | None = Field(default=None, sa_type=UTCDateTime)


class DeliveryReceiptBase(SQLModel):
    """A message this party has acted on: its sender and idempotency key, once."""

    id: int | None = Field(default=None, primary_key=True)
    # "<sender>:<idempotency key>" in one unique column: the insert is the check.
    receipt_key: str = Field(max_length=200, unique=True)
    received_at: dt.datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)

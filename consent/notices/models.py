"""Table ``consent_notice``: what a customer must be told, such as emergency access.

The share policy attaches the ``notify_customer`` obligation to every release on
the emergency path (vital interests, safeguarding: no consent was asked). The
requesting node discharges it by sending the consent service a signed
``notify_customer`` request after the view; the customer sees the notice in the
portal until they mark it read. A notice is never deleted; ``read_at`` only marks it.
"""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from consent.db import UTCDateTime, utcnow


class CustomerNotice(SQLModel, table=True):
    """One notice to the customer behind ``subject_id`` (once per sender and view)."""

    __tablename__ = "consent_notice"
    __table_args__ = (sa.UniqueConstraint("from_org", "view_id"),)

    id: str = Field(primary_key=True, max_length=64)
    subject_id: str = Field(foreign_key="consent_subject.id", index=True, max_length=64)
    kind: str = Field(max_length=32)
    from_org: str = Field(max_length=64)
    view_id: str = Field(max_length=128)
    basis: str = Field(max_length=64)
    purpose: str = Field(max_length=64)
    holders: list[str] = Field(sa_type=sa.JSON)
    categories: list[str] = Field(sa_type=sa.JSON)
    # Per holder, what it released ({} for notices sent before senders said so).
    released: dict[str, list[str]] = Field(default_factory=dict, sa_type=sa.JSON)
    occurred_at: dt.datetime = Field(sa_type=UTCDateTime)
    created_at: dt.datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    read_at: dt.datetime | None = Field(default=None, sa_type=UTCDateTime)

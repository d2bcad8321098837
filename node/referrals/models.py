"""Tables ``referral`` and ``referral_event`` (docs/referrals.md "What each side keeps").

A referral has the same ``id`` at both ends (a uuid4 hex chosen by the sender);
``direction`` says which end this node is. ``subject_id`` is the federation subject
as this node knows it: NULL on an incoming referral for a person this node does not
know. ``contact_details`` holds, at the receiver only, the minimum contact details
it was allowed to open (JSON text: name, how to contact, preferences); nothing else
of the person's identity is kept. Every state change is one ``referral_event``.
"""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from node.db import UTCDateTime, utcnow


class Referral(SQLModel, table=True):
    """One referral, outgoing (this node asked) or incoming (this node was asked)."""

    __tablename__ = "referral"

    id: str = Field(primary_key=True, max_length=32)
    direction: str = Field(max_length=16, index=True)
    partner_org: str = Field(max_length=64)
    subject_id: str | None = Field(default=None, max_length=128, index=True)
    category: str = Field(max_length=64)
    purpose: str = Field(max_length=64)
    urgency: str = Field(max_length=16)
    reason: str = Field(sa_type=sa.Text)
    person_told: str = Field(sa_type=sa.Text)
    contact_preferences: str | None = Field(default=None, sa_type=sa.Text)
    contact: str = Field(default="not_needed", max_length=16)
    contact_details: str | None = Field(default=None, sa_type=sa.Text)
    state: str = Field(max_length=32, index=True)
    assigned_worker: str | None = Field(default=None, max_length=128)
    emergency_basis: str | None = Field(default=None, max_length=64)
    emergency_justification: str | None = Field(default=None, sa_type=sa.Text)
    created_by: str = Field(max_length=128)
    created_at: dt.datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    updated_at: dt.datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    respond_by: dt.datetime = Field(sa_type=UTCDateTime)


class ReferralEvent(SQLModel, table=True):
    """One change of a referral's state, at this end (its history)."""

    __tablename__ = "referral_event"

    id: int | None = Field(default=None, primary_key=True)
    referral_id: str = Field(foreign_key="referral.id", max_length=32, index=True)
    at: dt.datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    from_state: str | None = Field(default=None, max_length=32)
    to_state: str = Field(max_length=32)
    actor: str = Field(max_length=128)
    reason_code: str | None = Field(default=None, max_length=64)
    note: str | None = Field(default=None, sa_type=sa.Text)

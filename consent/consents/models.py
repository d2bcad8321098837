"""Tables ``consent``, ``consent_provision`` and ``consent_event``.

Shaped after HL7 FHIR R4 ``Consent``: ``status`` (active | inactive | rejected; a
revoked consent becomes *inactive*), the subject (``Consent.patient``), the grantor
(the customer or a named advocate: ``Consent.performer``), ``period`` and
provisions (purposes, recipient organisations, data categories, actions).

Nothing is deleted or rewritten. The ``consent`` row holds the current state;
every grant, amendment and revocation appends a ``consent_event`` with a snapshot,
and provisions are versioned rows (an amendment adds version n+1 beside version n),
so any past state can be read back.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from consent.db import UTCDateTime, utcnow

ConsentStatus = Literal["active", "inactive", "rejected"]
GrantorKind = Literal["customer", "advocate"]
EventKind = Literal["granted", "amended", "revoked"]


class Consent(SQLModel, table=True):
    """One consent, in its current state."""

    __tablename__ = "consent"

    id: str = Field(primary_key=True, max_length=64)
    subject_id: str = Field(foreign_key="consent_subject.id", index=True, max_length=64)
    status: str = Field(default="active", max_length=16)
    grantor_kind: str = Field(default="customer", max_length=16)
    grantor_name: str | None = Field(default=None, max_length=200)
    recorded_by: str = Field(max_length=64)
    period_start: dt.datetime = Field(sa_type=UTCDateTime)
    period_end: dt.datetime | None = Field(default=None, sa_type=UTCDateTime)
    version: int = Field(default=1)
    created_at: dt.datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    updated_at: dt.datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class ConsentProvision(SQLModel, table=True):
    """One permit provision of one version of a consent."""

    __tablename__ = "consent_provision"

    id: int | None = Field(default=None, primary_key=True)
    consent_id: str = Field(foreign_key="consent.id", index=True, max_length=64)
    version: int
    purposes: list[str] = Field(sa_type=sa.JSON)
    recipients: list[str] = Field(sa_type=sa.JSON)
    categories: list[str] = Field(sa_type=sa.JSON)
    actions: list[str] = Field(sa_type=sa.JSON)


class ConsentEvent(SQLModel, table=True):
    """An appended grant, amendment or revocation, with the state it produced."""

    __tablename__ = "consent_event"

    id: int | None = Field(default=None, primary_key=True)
    consent_id: str = Field(foreign_key="consent.id", index=True, max_length=64)
    kind: str = Field(max_length=16)
    at: dt.datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    actor: str = Field(max_length=64)
    snapshot: dict[str, Any] = Field(sa_type=sa.JSON)

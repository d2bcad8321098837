"""Tables ``consent_customer`` and ``consent_activation``.

A customer account lets a person see and control their own consents. A member
node asks for the account on the customer's behalf and gets a one-time activation
code to hand over; the customer sets a password with it. Only the SHA-256 of the
code and an argon2id hash of the password are stored.
"""

from __future__ import annotations

import datetime as dt

from sqlmodel import Field, SQLModel

from consent.db import UTCDateTime, utcnow


class CustomerAccount(SQLModel, table=True):
    """A customer's login, tied to exactly one subject."""

    __tablename__ = "consent_customer"

    id: int | None = Field(default=None, primary_key=True)
    subject_id: str = Field(foreign_key="consent_subject.id", unique=True, max_length=64)
    username: str = Field(max_length=64, unique=True)
    password_hash: str | None = Field(default=None, max_length=255)
    active: bool = Field(default=True)
    created_by: str = Field(max_length=64)
    created_at: dt.datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    activated_at: dt.datetime | None = Field(default=None, sa_type=UTCDateTime)


class CustomerActivation(SQLModel, table=True):
    """A one-time activation code (stored hashed) for an account."""

    __tablename__ = "consent_activation"

    id: int | None = Field(default=None, primary_key=True)
    account_id: int = Field(foreign_key="consent_customer.id", index=True)
    code_hash: str = Field(max_length=64, unique=True)
    expires_at: dt.datetime = Field(sa_type=UTCDateTime)
    used_at: dt.datetime | None = Field(default=None, sa_type=UTCDateTime)
    created_at: dt.datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)

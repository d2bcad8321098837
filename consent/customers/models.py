"""Tables ``consent_customer``, ``consent_activation`` and ``consent_sign_in_throttle``.

A customer account lets a person see and control their own consents. A member
node asks for the account on the customer's behalf and gets a one-time activation
code to hand over; the customer sets a password with it. A person who cannot sign
in any more gets a one-time *recovery* code the same way, from an organisation
that enrolled them (or the service's operator), and sets a new password with it.
Each code row keeps its purpose, who issued it, when, and when it was used: the
record of every password (re)set. Only the SHA-256 of a code and an argon2id hash
of the password are stored. ``consent_sign_in_throttle`` counts failed sign-ins
(``appkit.throttle``).
"""

from __future__ import annotations

import datetime as dt

from sqlmodel import Field, SQLModel

from appkit.throttle import SignInThrottleBase
from consent.db import UTCDateTime, utcnow

CODE_PURPOSES = ("activation", "recovery")


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
    """A one-time code (stored hashed) that sets an account's password: to activate
    the account, or to recover it; ``issued_by`` is the member org or ``cli``."""

    __tablename__ = "consent_activation"

    id: int | None = Field(default=None, primary_key=True)
    account_id: int = Field(foreign_key="consent_customer.id", index=True)
    code_hash: str = Field(max_length=64, unique=True)
    purpose: str = Field(default="activation", max_length=16)
    issued_by: str | None = Field(default=None, max_length=64)
    expires_at: dt.datetime = Field(sa_type=UTCDateTime)
    used_at: dt.datetime | None = Field(default=None, sa_type=UTCDateTime)
    created_at: dt.datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class CustomerSignInThrottle(SignInThrottleBase, table=True):
    """Recent failed customer sign-ins per username and per client address (hashed)."""

    __tablename__ = "consent_sign_in_throttle"

"""The ``staff`` table: node-local staff accounts (DESIGN "staff identity"); and
``sign_in_throttle``, the failed sign-ins counted by ``appkit.throttle``.

Only an argon2id hash of the password is stored. ``active`` lets an admin cut an
account off at once: tokens are checked against it on every request.
"""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Field, SQLModel

from appkit.throttle import SignInThrottleBase
from node.db import UTCDateTime, utcnow


class Staff(SQLModel, table=True):
    """One member of the organisation's staff who can sign in to this node."""

    __tablename__ = "staff"

    id: int | None = Field(default=None, primary_key=True)
    username: str = Field(max_length=64, unique=True)
    display_name: str = Field(default="", max_length=200)
    role: str = Field(max_length=32)
    password_hash: str = Field(max_length=255)
    active: bool = Field(default=True)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    last_login_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class StaffSignInThrottle(SignInThrottleBase, table=True):
    """Recent failed staff sign-ins per username and per client address (hashed keys)."""

    __tablename__ = "sign_in_throttle"

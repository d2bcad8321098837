"""Tables ``consent_subject``, ``consent_linkage_token`` and ``consent_enrolment``.

The subject is the customer as the federation knows them: a random, opaque
``subject_id`` and nothing else (DESIGN "Identity and linkage"). The consent
service never sees names or dates of birth, only the linkage tokens (keyed hashes)
that nodes computed from them; a token belongs to exactly one subject, which is how
the same person enrolled by two nodes gets one subject, not two. An enrolment
row records each member that enrolled the subject: only those members hold a
record of the person, and only they may record the person's consent decisions.
"""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from consent.db import UTCDateTime, utcnow


class Subject(SQLModel, table=True):
    """One enrolled customer."""

    __tablename__ = "consent_subject"

    id: str = Field(primary_key=True, max_length=64)
    enrolled_by: str = Field(max_length=64)
    created_at: dt.datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class SubjectLinkageToken(SQLModel, table=True):
    """One linkage token (``v{n}.{kind}.{hex}``) pointing at its subject."""

    __tablename__ = "consent_linkage_token"

    id: int | None = Field(default=None, primary_key=True)
    token: str = Field(max_length=128, unique=True)
    subject_id: str = Field(foreign_key="consent_subject.id", index=True, max_length=64)
    added_by: str = Field(max_length=64)
    created_at: dt.datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class SubjectEnrolment(SQLModel, table=True):
    """One member organisation that enrolled the subject (once per pair)."""

    __tablename__ = "consent_enrolment"
    __table_args__ = (sa.UniqueConstraint("subject_id", "org_id"),)

    id: int | None = Field(default=None, primary_key=True)
    subject_id: str = Field(foreign_key="consent_subject.id", index=True, max_length=64)
    org_id: str = Field(max_length=64)
    created_at: dt.datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)

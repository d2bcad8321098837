"""Tables for the organisation's own records: ``person``, ``need``, ``action``, ``contact``.

These are the facts a node may later share, category by category, under policy;
they never leave the node except through the share endpoint. ``person`` holds the
raw identifiers and the linkage tokens derived from them (``federation.linkage``):
partners only ever see the tokens. ``*Base`` classes carry the fields common to the
table and its request/response schemas (``node.records.schemas``).
"""

from __future__ import annotations

import datetime as dt
from typing import Literal

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from node.db import UTCDateTime, utcnow

Severity = Literal["low", "medium", "high", "critical"]
NeedStatus = Literal["open", "in_progress", "met", "closed"]
ActionStatus = Literal["proposed", "active", "done", "cancelled"]


class PersonBase(SQLModel):
    family_name: str = Field(min_length=1, max_length=200)
    given_name: str = Field(min_length=1, max_length=200)
    date_of_birth: dt.date
    postcode: str | None = Field(default=None, max_length=16)
    national_number: str | None = Field(default=None, max_length=32)


class Person(PersonBase, table=True):
    """Someone the organisation works with, under its own reference ``local_ref``."""

    __tablename__ = "person"

    id: int | None = Field(default=None, primary_key=True)
    local_ref: str = Field(max_length=64, unique=True)
    family_name: str = Field(max_length=200, index=True)
    linkage_tokens: list[str] = Field(default_factory=list, sa_type=sa.JSON)
    created_at: dt.datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    updated_at: dt.datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class NeedBase(SQLModel):
    category: str = Field(max_length=64)
    description: str = Field(default="", max_length=4000)
    severity: Severity = Field(default="medium", sa_type=sa.String(16))
    status: NeedStatus = Field(default="open", sa_type=sa.String(16))
    since: dt.date


class Need(NeedBase, table=True):
    """A need the organisation knows about, in one category of the taxonomy."""

    __tablename__ = "need"
    # Evidence counting walks each person's needs per category in date order
    # (node.evidence.counting); this covering index gives that order without a sort
    # or a row lookup.
    __table_args__ = (
        sa.Index("ix_need_evidence", "person_id", "category", "since", "status", "updated_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    person_id: int = Field(foreign_key="person.id", index=True)
    category: str = Field(max_length=64, index=True)
    recorded_by: str = Field(max_length=64)
    created_at: dt.datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    updated_at: dt.datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class ActionBase(SQLModel):
    what: str = Field(min_length=1, max_length=2000)
    owner: str = Field(min_length=1, max_length=200)
    status: ActionStatus = Field(default="proposed", sa_type=sa.String(16))
    due: dt.date | None = None


class Action(ActionBase, table=True):
    """Something someone will do about a person's need."""

    __tablename__ = "action"

    id: int | None = Field(default=None, primary_key=True)
    person_id: int = Field(foreign_key="person.id", index=True)
    need_id: int | None = Field(default=None, foreign_key="need.id", index=True)
    created_at: dt.datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    updated_at: dt.datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class ContactBase(SQLModel):
    worker_name: str = Field(min_length=1, max_length=200)
    role: str = Field(default="", max_length=200)
    how_to_reach: str = Field(default="", max_length=500)
    organisation: str = Field(default="", max_length=200)


class Contact(ContactBase, table=True):
    """A named worker the person deals with, and how to reach them."""

    __tablename__ = "contact"

    id: int | None = Field(default=None, primary_key=True)
    person_id: int = Field(foreign_key="person.id", index=True)
    created_at: dt.datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    updated_at: dt.datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)

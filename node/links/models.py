"""The ``subject_link`` table: which local person a federation ``subject_id`` is.

The consent service issues the opaque ``subject_id`` at enrolment; each node maps
it to at most one of its own ``person`` rows (DESIGN "Identity and linkage"), by
enrolment at this node, by linkage-token match, or by a person confirming an
ambiguous match (``method``).
"""

from __future__ import annotations

import datetime as dt
from typing import Literal

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from node.db import UTCDateTime, utcnow

LinkMethod = Literal["enrolment", "linkage", "manual"]


class SubjectLink(SQLModel, table=True):
    """One subject_id ↔ one local person."""

    __tablename__ = "subject_link"

    id: int | None = Field(default=None, primary_key=True)
    subject_id: str = Field(max_length=128, unique=True)
    person_id: int = Field(foreign_key="person.id", unique=True)
    linked_at: dt.datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    method: LinkMethod = Field(default="enrolment", sa_type=sa.String(16))

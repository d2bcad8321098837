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


ReviewStatus = Literal["pending", "confirmed", "rejected"]


class LinkReview(SQLModel, table=True):
    """A link request this node could not settle alone, waiting for a person to decide.

    Queued when linkage tokens match several local persons, or the national-number
    and demographic tokens point at different persons, or the matched person is
    already linked to another subject (DESIGN: ambiguous matches are never linked
    automatically). It holds row ids and the opaque subject id only — no identifiers.
    """

    __tablename__ = "link_review"

    id: int | None = Field(default=None, primary_key=True)
    subject_id: str = Field(max_length=128, index=True)
    requested_by: str = Field(max_length=64)
    request_id: str = Field(max_length=128)
    reason: str = Field(max_length=200)
    candidate_person_ids: list[int] = Field(default_factory=list, sa_type=sa.JSON)
    status: ReviewStatus = Field(default="pending", sa_type=sa.String(16), index=True)
    created_at: dt.datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    resolved_at: dt.datetime | None = Field(default=None, sa_type=UTCDateTime)
    resolved_by: str | None = Field(default=None, max_length=128)
    person_id: int | None = Field(default=None, foreign_key="person.id")

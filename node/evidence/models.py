"""Table ``evidence_participation``: the evidence queries this node took part in.

One row per query id this node joined (round 1). Round 2 is accepted only for a
joined query, from the same requester, for the same ``EvidenceQuery`` (its digest),
and only once: a second contribution to one query id for another participant set
would let the requester subtract two masked vectors and strip masks. The row lives
in the database, so every process of the node sees it (DESIGN "Running beyond one
process").
"""

from __future__ import annotations

import datetime as dt

from sqlmodel import Field, SQLModel

from node.db import UTCDateTime, utcnow


class EvidenceParticipation(SQLModel, table=True):
    """A query this node joined and, once it has, contributed to."""

    __tablename__ = "evidence_participation"

    query_id: str = Field(primary_key=True, max_length=64)
    evidence_id: str = Field(max_length=64, index=True)
    requester_org: str = Field(max_length=64)
    question: str = Field(max_length=64)
    query_digest: str = Field(max_length=64)
    joined_at: dt.datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    contributed_at: dt.datetime | None = Field(default=None, sa_type=UTCDateTime)

"""Signed bodies of the two rounds of an evidence query (docs/evidence.md).

Round 1, ``aggregate_join``: the requester asks each member to take part in one
query (``query_id``, fresh for every attempt) and says who is asking and why; the
member decides with ``joinedup.aggregate``, audits, and remembers that it joined.
Round 2, ``aggregate_contribute``: the requester names the participant set fixed
by round 1; each member computes its counts, adds its pairwise masks for exactly
that set (``federation.secure_sum``) and answers with an ``AggregateContribution``
sealed to the requester and signed. A member contributes to a query id at most
once, and only for a query it joined with the same ``EvidenceQuery``.
"""

from __future__ import annotations

from typing import Annotated, ClassVar

from pydantic import BaseModel, ConfigDict, Field, field_validator

from federation.evidence import EvidenceQuery
from federation.registry import ORG_ID_PATTERN
from federation.secure_sum import MIN_PARTICIPANTS
from federation.wire import WireMessage

AGGREGATE_JOIN_ACTION = "aggregate_join"
AGGREGATE_CONTRIBUTE_ACTION = "aggregate_contribute"
QUERY_ID_PATTERN = r"^[A-Za-z0-9_-]{16,64}$"
MAX_PARTICIPANTS = 500
MAX_ATTEMPTS = 3


class AggregateJoin(WireMessage):
    """Round 1: will you take part in this query?"""

    action: ClassVar[str] = AGGREGATE_JOIN_ACTION

    query_id: str = Field(pattern=QUERY_ID_PATTERN)
    evidence_id: str = Field(
        pattern=QUERY_ID_PATTERN, description="The analyst's request; the same for every attempt"
    )
    attempt: int = Field(ge=1, le=MAX_ATTEMPTS)
    query: EvidenceQuery
    requester_role: str = Field(min_length=1, max_length=32)
    requester_staff: str = Field(min_length=1, max_length=128, description="Pseudonymous id")


class AggregateJoined(BaseModel):
    """A member's answer to round 1 (a refusal is a 403 problem instead)."""

    model_config = ConfigDict(extra="forbid")

    query_id: str
    joined: bool
    reasons: list[str] = Field(default_factory=list, description="The member's policy reasons")


class AggregateContribute(WireMessage):
    """Round 2: the participant set is fixed; send your masked counts."""

    action: ClassVar[str] = AGGREGATE_CONTRIBUTE_ACTION

    query_id: str = Field(pattern=QUERY_ID_PATTERN)
    query: EvidenceQuery
    participants: list[Annotated[str, Field(pattern=ORG_ID_PATTERN)]] = Field(
        min_length=MIN_PARTICIPANTS, max_length=MAX_PARTICIPANTS
    )

    @field_validator("participants")
    @classmethod
    def _sorted_distinct(cls, participants: list[str]) -> list[str]:
        if sorted(set(participants)) != participants:
            raise ValueError("participants must be sorted and distinct")
        return participants


class AggregateContribution(BaseModel):
    """The sealed body of a round-2 answer: this member's masked vector."""

    model_config = ConfigDict(extra="forbid")

    query_id: str
    masked: list[int] = Field(description="One value per cell, each in 0..2**64-1")


class AggregateContributionResponse(BaseModel):
    """Round 2's HTTP answer: the signed envelope around the sealed contribution."""

    response: str = Field(description="Compact JWS, typ joinedup-response+jwt")


__all__ = [
    "AGGREGATE_CONTRIBUTE_ACTION",
    "AGGREGATE_JOIN_ACTION",
    "AggregateContribute",
    "AggregateContribution",
    "AggregateContributionResponse",
    "AggregateJoin",
    "AggregateJoined",
]

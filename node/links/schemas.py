"""Request and response bodies of the linkage endpoints (no identifiers in any of them)."""

from __future__ import annotations

import datetime as dt

from pydantic import BaseModel, ConfigDict, Field

from federation.share_schema import LinkRequestBody, LinkResponse, LinkStatus
from node.db import MAX_ROW_ID

__all__ = [
    "EnrolmentPublic",
    "LinkRequestBody",
    "LinkResponse",
    "LinkReviewPublic",
    "LinkReviewsPublic",
    "LinkStatus",
    "PartnerLinkOutcome",
    "ReviewConfirm",
]


class PartnerLinkOutcome(BaseModel):
    """What one partner answered to the link request sent after enrolment."""

    org_id: str
    status: str = Field(description="linked, queued, no_match, already_linked, unavailable, error")


class EnrolmentPublic(BaseModel):
    """The result of enrolling a person with the consent service."""

    subject_id: str
    created: bool = Field(description="False when the consent service already knew the person")
    partners: list[PartnerLinkOutcome]


class LinkReviewPublic(BaseModel):
    id: int
    subject_id: str
    requested_by: str
    reason: str
    candidate_person_ids: list[int]
    status: str
    created_at: dt.datetime
    resolved_at: dt.datetime | None = None
    resolved_by: str | None = None
    person_id: int | None = None


class LinkReviewsPublic(BaseModel):
    data: list[LinkReviewPublic]
    count: int


class ReviewConfirm(BaseModel):
    model_config = ConfigDict(extra="forbid")

    person_id: int = Field(ge=1, le=MAX_ROW_ID, description="The local person to link.")

"""Request and response bodies of the linkage endpoints (no identifiers in any of them)."""

from __future__ import annotations

import datetime as dt
from typing import Any

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


# Synthetic ids only: the consent service's opaque subject id and local row ids.
_SUBJECT = "sub_Q2xZ9kR4tV7mN1pA"
_REVIEW: dict[str, Any] = {
    "id": 4,
    "subject_id": _SUBJECT,
    "requested_by": "gp-example",
    "reason": "2 local persons match the linkage tokens",
    "candidate_person_ids": [1, 2],
    "status": "pending",
    "created_at": "2024-09-02T10:15:00Z",
}


def _examples(*examples: dict[str, Any]) -> ConfigDict:
    return ConfigDict(json_schema_extra={"examples": list(examples)})


class PartnerLinkOutcome(BaseModel):
    """What one partner answered to the link request sent after enrolment."""

    org_id: str
    status: str = Field(
        description="received, unavailable or error; whether the partner knows the person "
        "is recorded only in its own audit log"
    )


class EnrolmentPublic(BaseModel):
    """The result of enrolling a person with the consent service."""

    model_config = _examples(
        {
            "subject_id": _SUBJECT,
            "created": True,
            "partners": [
                {"org_id": "gp-example", "status": "received"},
                {"org_id": "police-example", "status": "unavailable"},
            ],
        }
    )

    subject_id: str
    created: bool = Field(description="False when the consent service already knew the person")
    partners: list[PartnerLinkOutcome]


class LinkReviewPublic(BaseModel):
    model_config = _examples(_REVIEW)

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
    model_config = _examples({"data": [_REVIEW], "count": 1})

    data: list[LinkReviewPublic]
    count: int


class ReviewConfirm(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"person_id": 1}]})

    person_id: int = Field(ge=1, le=MAX_ROW_ID, description="The local person to link.")

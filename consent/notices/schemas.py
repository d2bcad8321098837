"""Bodies of the ``notify_customer`` action and of the customer's notice list."""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from consent.consents.schemas import OrgId
from consent.subjects.schemas import SubjectId
from federation.share_schema import Slug

NoticeKind = Literal["emergency_access"]

_EXAMPLE: dict[str, Any] = {
    "subject_id": "sub_Q2xZ9kR4tV7mN1pA",
    "kind": "emergency_access",
    "view_id": "view_9oE-m37IalgkMMwSF1TbBw",
    "basis": "safeguarding",
    "purpose": "safeguarding",
    "holders": ["elmwood-gp", "safe-harbour"],
    "categories": ["contact_details", "safety"],
    "released": {"elmwood-gp": ["contact_details"], "safe-harbour": ["contact_details", "safety"]},
    "occurred_at": "2026-11-23T19:52:00Z",
}


class NoticeCreate(BaseModel):
    """What a node that used the emergency path tells the consent service."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [_EXAMPLE]})

    subject_id: SubjectId
    kind: NoticeKind = "emergency_access"
    view_id: str = Field(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9_.:-]+$")
    basis: Slug
    purpose: Slug
    holders: list[OrgId] = Field(min_length=1, max_length=64)
    categories: list[Slug] = Field(max_length=64)
    released: dict[OrgId, list[Slug]] = Field(
        default_factory=dict,
        max_length=64,
        description="Per holder, the categories it released (senders before it omit it).",
    )
    occurred_at: dt.datetime


class NoticePublic(BaseModel):
    """A notice as the customer (and the sender) sees it."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    **_EXAMPLE,
                    "id": "ntc_Vb2kQ9x",
                    "from_org": "northdale-police",
                    "created_at": "2026-11-23T19:52:01Z",
                    "read": False,
                }
            ]
        }
    )

    id: str
    subject_id: str
    kind: str
    from_org: str
    view_id: str
    basis: str
    purpose: str
    holders: list[str]
    categories: list[str]
    released: dict[str, list[str]]
    occurred_at: dt.datetime
    created_at: dt.datetime
    read: bool


class NoticesPublic(BaseModel):
    data: list[NoticePublic]
    count: int

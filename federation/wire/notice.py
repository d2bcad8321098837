"""``notify_customer``: after an emergency view, a node tells the customer.

``POST /federation/notices`` (docs/protocol.md "Emergency-access notice"); the node
sends it through its outbox (``node.views.notices``), the consent service shows it
in the portal (``consent.notices``).
"""

from __future__ import annotations

import datetime as dt
from typing import Any, ClassVar, Literal

from pydantic import ConfigDict, Field

from federation.share_schema import NOTIFY_ACTION, Slug
from federation.wire import WireMessage
from federation.wire.fields import OrgId, SubjectId

NoticeKind = Literal["emergency_access"]

NOTICE_EXAMPLE: dict[str, Any] = {
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


class NoticeCreate(WireMessage):
    """What a node that used the emergency path tells the consent service."""

    action: ClassVar[str] = NOTIFY_ACTION
    model_config = ConfigDict(json_schema_extra={"examples": [NOTICE_EXAMPLE]})

    subject_id: SubjectId
    kind: NoticeKind = "emergency_access"
    view_id: str = Field(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9_.:-]+$")
    basis: Slug
    purpose: Slug
    holders: list[OrgId] = Field(min_length=1, max_length=64)
    # Category words are checked as slugs here, as the consent service always has.
    categories: list[Slug] = Field(max_length=64)
    released: dict[OrgId, list[Slug]] = Field(
        default_factory=dict,
        max_length=64,
        description="Per holder, the categories it released (senders before it omit it).",
    )
    occurred_at: dt.datetime

"""Bodies of the ``notify_customer`` action and of the customer's notice list."""

from __future__ import annotations

import datetime as dt

from pydantic import BaseModel, ConfigDict

# The request is the wire message its sender builds (federation.wire.notice).
from federation.wire.notice import NOTICE_EXAMPLE as _EXAMPLE
from federation.wire.notice import NoticeCreate, NoticeKind

__all__ = ["NoticeCreate", "NoticeKind", "NoticePublic", "NoticesPublic"]


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

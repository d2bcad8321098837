"""Body of a revocation push (docs/protocol.md, action ``revoke``) and the node's answer."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, Field, StringConstraints

Id = Annotated[str, StringConstraints(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9_.-]+$")]


class RevocationPush(BaseModel):
    consent_id: Id
    subject_id: Id
    revoked_at: int = Field(ge=0, le=2**40)


class RevocationRecorded(BaseModel):
    status: Literal["recorded"] = "recorded"

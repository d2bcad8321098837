"""Bodies of ``POST /federation/consent-token`` (docs/protocol.md action ``consent_token``)."""

from __future__ import annotations

from pydantic import BaseModel

from consent.consents.schemas import Purpose
from consent.subjects.schemas import SubjectId


class ConsentTokenRequest(BaseModel):
    subject_id: SubjectId
    purpose: Purpose


class ConsentTokenPublic(BaseModel):
    token: str
    expires_at: int

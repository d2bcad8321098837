"""Bodies of ``POST /federation/consent-token`` (docs/protocol.md action ``consent_token``)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

from consent.consents.schemas import Purpose
from consent.subjects.schemas import SubjectId


class ConsentTokenRequest(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"subject_id": "sub_Q2xZ9kR4tV7mN1pA", "purpose": "care_coordination"}]
        }
    )

    subject_id: SubjectId
    purpose: Purpose


class ConsentTokenPublic(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"token": "eyJhbGciOiJFZERTQSJ9.e30.c2ln", "expires_at": 1725272100}]
        }
    )

    token: str
    expires_at: int

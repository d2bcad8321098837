"""Bodies of ``POST /federation/consent-token`` (docs/protocol.md action ``consent_token``)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

from consent.consents.schemas import Purpose
from federation.wire.token import ConsentTokenAsk


class ConsentTokenRequest(ConsentTokenAsk):
    """The wire message (``federation.wire.token``), its purpose one this service knows."""

    purpose: Purpose


class ConsentTokenPublic(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"token": "eyJhbGciOiJFZERTQSJ9.e30.c2ln", "expires_at": 1725272100}]
        }
    )

    token: str
    expires_at: int

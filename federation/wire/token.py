"""``consent_token``: a node asks the consent service for a consent token.

``POST /federation/consent-token`` (docs/protocol.md "Consent-token request").
"""

from __future__ import annotations

from typing import ClassVar

from pydantic import ConfigDict

from federation.share_schema import Slug
from federation.wire import WireMessage
from federation.wire.fields import SubjectId


class ConsentTokenAsk(WireMessage):
    """Which subject, for which purpose; the consent service answers with a signed token."""

    action: ClassVar[str] = "consent_token"
    model_config = ConfigDict(
        extra="ignore",
        json_schema_extra={
            "examples": [{"subject_id": "sub_Q2xZ9kR4tV7mN1pA", "purpose": "care_coordination"}]
        },
    )

    subject_id: SubjectId
    # A slug here; the consent service narrows it to its purposes
    # (consent.tokens.schemas.ConsentTokenRequest), as it always has.
    purpose: Slug

"""``revoke``: the consent service pushes a revocation to every member node.

``POST /federation/revocations`` (docs/protocol.md "Revocation push"), sent through
the consent service's outbox (``consent.revocations.service``) and recorded by the
node (``node.revocations``).
"""

from __future__ import annotations

from typing import Annotated, ClassVar

from pydantic import ConfigDict, Field, StringConstraints

from federation.wire import WireMessage

Id = Annotated[str, StringConstraints(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9_.-]+$")]


class RevocationPush(WireMessage):
    """Which consent of which subject stopped, and when (epoch seconds)."""

    action: ClassVar[str] = "revoke"
    model_config = ConfigDict(extra="ignore")

    consent_id: Id
    subject_id: Id
    revoked_at: int = Field(ge=0, le=2**40)

"""``grant`` and ``revoke_consent``: a node records a present customer's decision.

``POST /federation/grants`` and ``/federation/consents/revoke`` (docs/protocol.md
"Grant recorded at a member", "Revocation recorded at a member").

The consent service's ``ConsentCreate`` and its provisions extend these models: the
wire carries vocabulary words as slugs, and the consent service narrows them to its
purposes, categories and actions (``consent.consents.schemas``), as it always has.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated, ClassVar, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, StringConstraints

from federation.share_schema import Slug
from federation.wire import WireMessage
from federation.wire.fields import OrgId, SubjectId

GrantorKind = Literal["customer", "advocate"]
GrantorName = Annotated[str, StringConstraints(min_length=1, max_length=200, strip_whitespace=True)]
ConsentId = Annotated[str, StringConstraints(pattern=r"^cns_[A-Za-z0-9_-]{1,60}$")]


class GrantProvision(BaseModel):
    """One permit: these recipients may do these actions on these categories for these purposes."""

    # Bounds, not the vocabulary's sizes: the terms are the taxonomy's, which may grow
    # (federation.vocabulary); the consent service checks each against its own.
    purposes: Sequence[Slug] = Field(min_length=1, max_length=64)
    recipients: Sequence[OrgId] = Field(min_length=1, max_length=100)
    categories: Sequence[Slug] = Field(min_length=1, max_length=64)
    actions: Sequence[Slug] = Field(min_length=1, max_length=64)


class GrantConsent(WireMessage):
    """A new consent a member node records for ``subject_id``."""

    action: ClassVar[str] = "grant"
    model_config = ConfigDict(extra="ignore")

    grantor_kind: GrantorKind = "customer"
    grantor_name: GrantorName | None = None
    period_start: AwareDatetime | None = Field(default=None, description="default: now")
    period_end: AwareDatetime | None = None
    provisions: Sequence[GrantProvision] = Field(min_length=1, max_length=20)
    subject_id: SubjectId  # last, as the consent service's ConsentCreate has it


class RevokeConsent(WireMessage):
    """A member node recording a customer's revocation (signed ``revoke_consent``)."""

    action: ClassVar[str] = "revoke_consent"
    model_config = ConfigDict(
        extra="ignore", json_schema_extra={"examples": [{"consent_id": "cns_8fK3wL0sYb2HdJ6e"}]}
    )

    consent_id: ConsentId


__all__ = ["ConsentId", "GrantConsent", "GrantProvision", "GrantorKind", "GrantorName"]

"""Request and response models of the staff referral API (``/api/referrals``)."""

from __future__ import annotations

import datetime as dt

from pydantic import BaseModel, ConfigDict, Field

from federation.registry import ORG_ID_PATTERN
from federation.share_schema import MAX_TEXT, EmergencyBasis, Slug
from federation.wire.referral import ContactState, ReferralContact, ReferralId, Urgency


class ReferralForm(BaseModel):
    """What staff fill in to refer a person (the person and partner are named beside it)."""

    model_config = ConfigDict(extra="forbid")

    category: Slug
    purpose: Slug
    urgency: Urgency = "routine"
    reason: str = Field(min_length=1, max_length=MAX_TEXT, description="In plain words.")
    person_told: str = Field(
        min_length=1, max_length=MAX_TEXT, description="What the person has been told."
    )
    contact_preferences: str | None = Field(default=None, max_length=MAX_TEXT)
    contact: ReferralContact | None = Field(
        default=None,
        description="Minimum contact details, sealed to the receiver; give them only when "
        "the receiver may not know the person.",
    )
    emergency: EmergencyBasis | None = Field(
        default=None, description="Refer without consent: legal basis and justification."
    )


class ReferralCreate(ReferralForm):
    """``POST /api/referrals``: refer ``subject_id`` to ``to_org``."""

    # Synthetic values only: an opaque subject id, a made-up story.
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "subject_id": "sub_Q2xZ9kR4tV7mN1pA",
                    "to_org": "refuge",
                    "category": "victim_support",
                    "purpose": "referral",
                    "urgency": "urgent",
                    "reason": "Left an unsafe home last night and needs a safe place to stay.",
                    "person_told": "That the refuge will phone her today.",
                    "contact_preferences": "Text first; do not leave voicemail.",
                }
            ]
        },
    )

    subject_id: str = Field(min_length=1, max_length=128)
    to_org: str = Field(pattern=ORG_ID_PATTERN, description="The partner's org_id.")


class TransitionRequest(BaseModel):
    """``POST /api/referrals/{id}/transitions``: move a referral to another state."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {"to_state": "accepted", "worker": "Priya Shah"},
                {"to_state": "completed", "reason_code": "need_met", "note": "Safe housing found."},
            ]
        },
    )

    to_state: Slug
    reason_code: Slug | None = Field(
        default=None, description="A decline reason (declined) or an outcome (completed)."
    )
    note: str | None = Field(default=None, max_length=MAX_TEXT)
    worker: str | None = Field(
        default=None, min_length=1, max_length=128, description="Named worker (accepted)."
    )


class ReferralPublic(BaseModel):
    """A referral as this node's staff see it."""

    id: ReferralId
    direction: str
    partner_org: str
    subject_id: str | None
    category: str
    purpose: str
    urgency: str
    reason: str
    person_told: str
    contact_preferences: str | None
    contact: ContactState
    contact_details: ReferralContact | None = None
    state: str
    state_label: str
    assigned_worker: str | None
    emergency: bool
    emergency_basis: str | None
    created_by: str
    created_at: dt.datetime
    updated_at: dt.datetime
    respond_by: dt.datetime
    overdue: bool
    next_states: list[str] = Field(description="States this node's staff may move it to.")


class ReferralsPublic(BaseModel):
    data: list[ReferralPublic]
    count: int


class ReferralEventPublic(BaseModel):
    at: dt.datetime
    from_state: str | None
    to_state: str
    actor: str
    reason_code: str | None
    note: str | None


class ReferralDetail(BaseModel):
    """One referral with its whole history."""

    referral: ReferralPublic
    events: list[ReferralEventPublic]


class ReferralOptions(BaseModel):
    """The lists the forms offer (policies/act/data.json)."""

    urgencies: dict[str, str]
    decline_reasons: dict[str, str]
    outcomes: dict[str, str]


class AcknowledgementResponse(BaseModel):
    """The plain answer of ``POST /federation/referrals``."""

    response: str = Field(
        description="Compact JWS, typ joinedup-response+jwt, sealed ReferralAcknowledgement"
    )


class StatusReceived(BaseModel):
    """The plain answer of ``POST /federation/referral-status``."""

    status: str = "received"

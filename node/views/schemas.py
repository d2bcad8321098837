"""Request body of ``POST /views``; the answer is ``federation.view.JoinedUpView``.

The purpose is checked against the federation's purpose vocabulary here, and the
categories against this node's taxonomy in the flow (the taxonomy is policy data
loaded per app, not a constant).
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from federation.view import JoinedUpView

__all__ = ["JoinedUpView", "ViewEmergency", "ViewPurpose", "ViewRequest"]

# Mirrors federation.consent_token.PURPOSES (a test keeps the two equal); a Literal
# makes the accepted values visible in the OpenAPI schema.
ViewPurpose = Literal[
    "care_coordination", "safeguarding", "referral", "direct_care", "service_planning"
]


_EMERGENCY: dict[str, Any] = {
    "basis": "vital_interests",
    "justification": "Found unconscious at home; GP and council history needed.",
}


class ViewEmergency(BaseModel):
    """Emergency access without consent: partners' policy decides whether it applies."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [_EMERGENCY]},
    )

    basis: str = Field(
        min_length=1,
        max_length=64,
        pattern=r"^[a-z][a-z_]*$",
        description="Legal basis, e.g. vital_interests or safeguarding.",
    )
    justification: str = Field(
        min_length=10, max_length=4000, description="Written justification, shown to auditors."
    )


class ViewRequest(BaseModel):
    """What a staff member asks for: whose needs, for which purpose, which categories."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "subject_id": "sub_Q2xZ9kR4tV7mN1pA",
                    "purpose": "care_coordination",
                    "categories": ["housing", "income"],
                },
                {
                    "subject_id": "sub_Q2xZ9kR4tV7mN1pA",
                    "purpose": "safeguarding",
                    "categories": [],
                    "emergency": _EMERGENCY,
                },
            ]
        },
    )

    subject_id: str = Field(
        min_length=1,
        max_length=128,
        pattern=r"^[A-Za-z0-9_.:-]+$",
        description="The consent service's opaque subject id (never a name).",
    )
    purpose: ViewPurpose
    categories: list[str] = Field(
        default_factory=list,
        max_length=32,
        description="Categories to request; empty asks for every category.",
    )
    emergency: ViewEmergency | None = None

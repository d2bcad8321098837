"""Request body of ``POST /views``; the answer is ``federation.view.JoinedUpView``.

The purpose is checked against the node's vocabulary here, and the categories in the
flow (the vocabulary is the taxonomy data of the node's policy bundle, loaded per
app, not a constant).
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from federation.view import JoinedUpView
from federation.vocabulary import PurposeId

__all__ = ["JoinedUpView", "ViewEmergency", "ViewPurpose", "ViewRequest"]

# A purpose of the taxonomy in force (federation.vocabulary), checked by a validator.
ViewPurpose = PurposeId


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

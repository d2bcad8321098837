"""Request and response bodies of enrolment (docs/protocol.md, action ``enrol``)."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

# v{key version}.{kind}.{64 hex}: exactly what federation.linkage produces.
LinkageTokenStr = Annotated[
    str, StringConstraints(pattern=r"^v[0-9]{1,6}\.[a-z]{1,16}\.[0-9a-f]{64}$", max_length=100)
]
SubjectId = Annotated[str, StringConstraints(pattern=r"^sub_[A-Za-z0-9_-]{1,60}$")]


class EnrolRequest(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"linkage_tokens": ["v1.nn." + "9" * 64, "v1.ndp." + "0a" * 32]}]
        }
    )

    linkage_tokens: list[LinkageTokenStr] = Field(min_length=1, max_length=20)


class EnrolmentPublic(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "subject_id": "sub_Q2xZ9kR4tV7mN1pA",
                    "created": True,
                    "enrolment": "eyJhbGciOiJFZDI1NTE5IiwidHlwIjoiam9pbmVkdXAtZW5yb2xtZW50K2p3dCJ9"
                    ".eyJzdWIiOiJzdWJfUTJ4WjlrUjR0VjdtTjFwQSJ9.c2lnbmF0dXJl",
                }
            ]
        }
    )

    subject_id: str
    created: bool
    enrolment: str = Field(
        description="Signed statement (JWS, typ joinedup-enrolment+jwt) that the enrolled "
        "linkage tokens are this subject's; attach it to link requests."
    )

"""Request and response bodies of enrolment (docs/protocol.md, action ``enrol``)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

# The request is the wire message every sender builds (federation.wire.enrol).
from federation.wire.enrol import EnrolRequest
from federation.wire.fields import LinkageTokenStr, SubjectId

__all__ = ["EnrolRequest", "EnrolmentPublic", "LinkageTokenStr", "SubjectId"]


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

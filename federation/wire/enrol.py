"""``enrol``: a node asks the consent service for the subject id of a person.

``POST /federation/enrol`` (docs/protocol.md "Enrolment"). Only linkage tokens
travel, never an identifier.
"""

from __future__ import annotations

from typing import ClassVar

from pydantic import ConfigDict, Field

from federation.wire import WireMessage
from federation.wire.fields import LinkageTokenStr


class EnrolRequest(WireMessage):
    """The person's linkage tokens (``federation.linkage``)."""

    action: ClassVar[str] = "enrol"
    model_config = ConfigDict(
        extra="ignore",
        json_schema_extra={
            "examples": [{"linkage_tokens": ["v1.nn." + "9" * 64, "v1.ndp." + "0a" * 32]}]
        },
    )

    linkage_tokens: list[LinkageTokenStr] = Field(min_length=1, max_length=20)

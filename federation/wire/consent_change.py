"""``consent_granted``: the consent service tells every member a subject gained a consent.

Revocations and amendments travel as ``revoke`` pushes (docs/protocol.md); a grant
carries nothing a node must refuse, only the fact that the subject's consents
changed, so a requester drops the consent token it cached for the subject and
the very next view asks afresh (``node.views.token_cache``).
"""

from __future__ import annotations

from typing import Annotated

from pydantic import Field, StringConstraints

from federation.wire import WireMessage

Id = Annotated[str, StringConstraints(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9_.-]+$")]


class ConsentGranted(WireMessage):
    action = "consent_granted"

    consent_id: Id
    subject_id: Id
    granted_at: int = Field(ge=0, le=2**40)

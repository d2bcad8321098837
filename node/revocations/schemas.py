"""Body of a revocation push (docs/protocol.md, action ``revoke``) and the node's answer.

The push itself is the wire message ``federation.wire.revocation.RevocationPush``.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel

from federation.wire.revocation import RevocationPush

__all__ = ["RevocationPush", "RevocationRecorded"]


class RevocationRecorded(BaseModel):
    status: Literal["recorded"] = "recorded"

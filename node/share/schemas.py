"""Public schemas of the share endpoint; the message shapes live in ``federation.share_schema``.

They are defined in the federation library (not here) because the requesting side
(``federation`` fan-out and view assembly) parses exactly the same models.
"""

from federation.share_schema import (
    EmergencyBasis,
    SharedAction,
    SharedContact,
    SharedNeed,
    SharedSection,
    ShareRequestBody,
    ShareResponse,
)

__all__ = [
    "EmergencyBasis",
    "ShareRequestBody",
    "ShareResponse",
    "SharedAction",
    "SharedContact",
    "SharedNeed",
    "SharedSection",
]

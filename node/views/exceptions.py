"""Errors of the joined-up view.

JoinedUpError
├── ValidationFailed
│   └── UnknownCategory     422  a requested category is not in this node's vocabulary
└── AuditUnavailable        503  the view could not be audited, so it is withheld
                                 (defined in node.audit.exceptions; re-exported here)
"""

from __future__ import annotations

from federation.errors import ValidationFailed
from node.audit.exceptions import AuditUnavailable

__all__ = ["AuditUnavailable", "UnknownCategory"]


class UnknownCategory(ValidationFailed):
    title = "Unknown category"
    type_slug = "unknown-category"

"""Errors of the joined-up view.

JoinedUpError
├── ValidationFailed
│   └── UnknownCategory     422  a requested category is not in this node's taxonomy
└── AuditUnavailable        503  the view could not be audited, so it is withheld
"""

from __future__ import annotations

from federation.errors import JoinedUpError, ValidationFailed


class UnknownCategory(ValidationFailed):
    title = "Unknown category"
    type_slug = "unknown-category"


class AuditUnavailable(JoinedUpError):
    status_code = 503
    title = "Audit unavailable"
    type_slug = "audit-unavailable"

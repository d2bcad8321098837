"""Errors of the evidence domain.

JoinedUpError
├── NotFound
│   └── UnknownQuestion        404  no such (available) question in the catalogue
└── EvidenceUnavailable        503  too few organisations could take part, or they
                                    kept dropping out: no totals can be formed
"""

from __future__ import annotations

from federation.errors import JoinedUpError, NotFound


class UnknownQuestion(NotFound):
    title = "Unknown question"
    type_slug = "unknown-question"


class EvidenceUnavailable(JoinedUpError):
    status_code = 503
    title = "Evidence unavailable"
    type_slug = "evidence-unavailable"

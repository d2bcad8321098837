"""Errors of the linkage domain.

JoinedUpError
├── Conflict
│   ├── LinkConflict          409  subject or person already linked elsewhere
│   └── ReviewClosed          409  the review was already confirmed or rejected
├── NotFound
│   └── ReviewNotFound        404
├── ValidationFailed
│   └── TooFewIdentifiers     422  the person's record has too few identifiers to
│                                  link: the caller's to fix (add a postcode, ...)
└── LinkageUnavailable        503  no linkage key configured at this node
"""

from __future__ import annotations

from federation.errors import Conflict, JoinedUpError, NotFound, ValidationFailed


class LinkConflict(Conflict):
    title = "Link conflict"
    type_slug = "link-conflict"


class ReviewClosed(Conflict):
    title = "Review already decided"
    type_slug = "review-closed"


class ReviewNotFound(NotFound):
    title = "Link review not found"
    type_slug = "review-not-found"


class LinkageUnavailable(JoinedUpError):
    status_code = 503
    title = "Linkage unavailable"
    type_slug = "linkage-unavailable"


class TooFewIdentifiers(ValidationFailed):
    title = "Too few identifiers"
    type_slug = "too-few-identifiers"

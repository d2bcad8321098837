"""Errors of the needs guide.

JoinedUpError
├── Conflict
│   └── ServiceExists            409  a service with that id is already in the catalogue
├── NotFound
│   ├── ServiceNotFound          404
│   └── CatalogueNotPublished    404  this node has not published its catalogue yet
└── NotAuthenticated
    └── GuideFetchUnsigned       401  a catalogue fetch without a member's signed request
"""

from __future__ import annotations

from federation.errors import Conflict, NotAuthenticated, NotFound


class ServiceExists(Conflict):
    title = "Service already in the catalogue"
    type_slug = "service-exists"


class ServiceNotFound(NotFound):
    title = "Service not found"
    type_slug = "service-not-found"


class CatalogueNotPublished(NotFound):
    title = "Catalogue not published"
    type_slug = "catalogue-not-published"


class GuideFetchUnsigned(NotAuthenticated):
    title = "Signed request required"
    type_slug = "guide-fetch-unsigned"

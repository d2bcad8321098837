"""Errors of the node's partner-facing side.

JoinedUpError
├── BadRequest
│   └── MalformedPartnerRequest   400  body is not {"request": "<compact JWS>"}
└── NotInFederation               503  the node has no member registry configured
"""

from __future__ import annotations

from federation.errors import BadRequest, JoinedUpError


class MalformedPartnerRequest(BadRequest):
    title = "Malformed partner request"
    type_slug = "malformed-partner-request"


class NotInFederation(JoinedUpError):
    status_code = 503
    title = "Not in a federation"
    type_slug = "not-in-federation"

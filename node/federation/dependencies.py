"""Dependencies for partner-facing endpoints: the registry and verified signed requests.

A partner POSTs ``{"request": "<JWT>"}`` (``federation.envelope``: a compact JWS,
RFC 7515, with JWT claims, RFC 7519, signed with the sender's Ed25519 key).
``verified_request("share")`` reads that body and answers with a problem before the
handler runs whenever anything is wrong — so nothing is ever released on a request
that failed a check:

    body not JSON / no "request" string / not a compact JWS     400
    signature does not verify under the issuer's registry keys  401
    issuer not in the registry                                   403
    addressed to another member (aud)                            401
    expired, issued in the future, lifetime over 60 s            401
    request id seen before (replay)                              409
    action is not the one this endpoint serves                   401

Signature checking is CPU-only work of well under a millisecond, so it runs inline
in the async dependency; nothing here blocks on I/O.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Annotated, Any

from fastapi import Depends, Request
from pydantic import BaseModel, ConfigDict, Field

from federation.envelope import VerifiedRequest, verify_request
from federation.errors import PeerSignatureInvalid
from federation.jose import read_unverified_claims
from federation.registry import Registry
from node.db import SessionDep
from node.federation.exceptions import MalformedPartnerRequest, NotInFederation
from node.federation.replay import remember_request

MAX_TOKEN_CHARS = 200_000


# Shape only (header.claims.signature, base64url); docs/protocol.md has a real one.
_EXAMPLE_JWS = (
    "eyJhbGciOiJFZDI1NTE5IiwidHlwIjoiam9pbmVkdXAtcmVxdWVzdCtqd3QiLCJraWQiOiI1ZTM0NGU0MyJ9"
    ".eyJpc3MiOiJjb3VuY2lsIiwiYXVkIjoiZ3AiLCJhY3QiOiJzaGFyZSJ9"
    ".c2lnbmF0dXJlLWJ5dGVzLW9mLXRoZS1zZW5kZXJzLUVkMjU1MTkta2V5"
)


class SignedRequest(BaseModel):
    """The body of every partner request: one signed JWT (docs/protocol.md)."""

    model_config = ConfigDict(json_schema_extra={"examples": [{"request": _EXAMPLE_JWS}]})

    request: str = Field(
        max_length=MAX_TOKEN_CHARS, description="Compact JWS, typ joinedup-request+jwt"
    )


# The body is parsed by hand (so a malformed body is a 400 like any other unreadable
# request, not FastAPI's 422); routes add this to document it in OpenAPI.
SIGNED_REQUEST_OPENAPI: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {
                "schema": SignedRequest.model_json_schema(),
                "example": {"request": _EXAMPLE_JWS},
            }
        },
    }
}


async def get_registry(request: Request) -> Registry:
    """The current verified registry; 503 problem if the node is not in a federation."""
    holder = getattr(request.app.state, "registry", None)
    if holder is None:
        raise NotInFederation("this node is not configured with a federation registry")
    registry: Registry = holder.current()
    return registry


RegistryDep = Annotated[Registry, Depends(get_registry)]


def parse_signed_body(raw: bytes) -> str:
    """The JWT inside ``{"request": ...}``; ``MalformedPartnerRequest`` otherwise."""
    try:
        document: Any = json.loads(raw)
    except (ValueError, UnicodeDecodeError, RecursionError):
        raise MalformedPartnerRequest("body is not JSON") from None
    if not isinstance(document, dict) or not isinstance(document.get("request"), str):
        raise MalformedPartnerRequest('body must be {"request": "<signed JWT>"}')
    token: str = document["request"]
    if len(token) > MAX_TOKEN_CHARS or token.count(".") != 2 or not token.isascii():
        raise MalformedPartnerRequest("request is not a compact JWS")
    try:
        read_unverified_claims(token)
    except PeerSignatureInvalid:
        raise MalformedPartnerRequest("request is not a readable compact JWS") from None
    return token


async def verify_partner_body(request: Request, registry: Registry, action: str) -> VerifiedRequest:
    """Verify the signed partner request in ``request``'s body for ``action``."""
    token = parse_signed_body(await request.body())
    return verify_request(
        token,
        registry=registry,
        audience=request.app.state.settings.org_id,
        replay_cache=request.app.state.replay_cache,
        expected_action=action,
    )


def verified_request(action: str) -> Callable[..., VerifiedRequest]:
    """A dependency that verifies a signed partner request for ``action``.

    The request id is then recorded in the request's own transaction
    (``node.federation.replay``), so a replay to any process of this node is a 409.
    """

    async def verify_partner_request(request: Request, registry: RegistryDep) -> VerifiedRequest:
        return await verify_partner_body(request, registry, action)

    # A default, not Annotated: the annotation would name a local that FastAPI
    # cannot resolve under postponed evaluation.
    def remember_partner_request(
        session: SessionDep, verified: VerifiedRequest = Depends(verify_partner_request)
    ) -> VerifiedRequest:
        remember_request(session=session, verified=verified)
        return verified

    return remember_partner_request

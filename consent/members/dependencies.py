"""Member nodes as callers: ``SignedBy("action")`` verifies a signed request.

Every ``/federation/*`` endpoint of the consent service takes a POST body
``{"request": "<JWT>"}`` signed by a registry member (``federation.envelope``,
docs/protocol.md "Consent service contract"). The dependency checks signature,
issuer membership, audience ``consent``, time window, replay and action, and hands
the handler a ``VerifiedRequest``; ``parse_body`` then validates its ``body`` into
the endpoint's schema so a malformed body is a 422 problem, never a 500.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from fastapi import Request
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from sqlmodel import Session

from appkit.replay import remember_request
from consent.db import SessionDep
from consent.members.models import ConsentSeenRequest
from federation.envelope import VerifiedRequest, verify_request
from federation.errors import UnknownMember, ValidationFailed
from federation.registry import CONSENT_SERVICE_ID, Registry

ModelT = TypeVar("ModelT", bound=BaseModel)


# Shape only (header.claims.signature, base64url); docs/protocol.md has a real one.
_EXAMPLE_JWS = (
    "eyJhbGciOiJFZDI1NTE5IiwidHlwIjoiam9pbmVkdXAtcmVxdWVzdCtqd3QiLCJraWQiOiI1ZTM0NGU0MyJ9"
    ".eyJpc3MiOiJjb3VuY2lsIiwiYXVkIjoiZ3AiLCJhY3QiOiJzaGFyZSJ9"
    ".c2lnbmF0dXJlLWJ5dGVzLW9mLXRoZS1zZW5kZXJzLUVkMjU1MTkta2V5"
)


class SignedRequest(BaseModel):
    """The envelope a member node posts: one compact JWS."""

    model_config = ConfigDict(json_schema_extra={"examples": [{"request": _EXAMPLE_JWS}]})

    request: str = Field(min_length=1, max_length=100_000)


def current_registry(request: Request) -> Registry:
    """The registry in force; without one nobody is a member (fail closed)."""
    holder = getattr(request.app.state, "registry", None)
    if holder is None:
        raise UnknownMember("this consent service has no federation registry configured")
    registry: Registry = holder.current()
    return registry


def SignedBy(action: str) -> Callable[[Request, SignedRequest, Session], VerifiedRequest]:  # noqa: N802
    """A dependency admitting only a valid request for ``action`` from an organisation.

    The request id is recorded in the request's own transaction
    (``consent_seen_request``), so a replay to any process of the service is a 409.
    """

    def verified_request(
        request: Request, envelope: SignedRequest, session: SessionDep
    ) -> VerifiedRequest:
        registry = current_registry(request)
        verified = verify_request(
            envelope.request,
            registry=registry,
            audience=CONSENT_SERVICE_ID,
            replay_cache=request.app.state.replay_cache,
            expected_action=action,
        )
        if registry.member(verified.issuer).kind == "consent_service":
            raise UnknownMember("the consent service does not call itself")
        remember_request(session=session, model=ConsentSeenRequest, verified=verified)
        return verified

    return verified_request


def parse_body(verified: VerifiedRequest, model: type[ModelT]) -> ModelT:
    """Validate a signed request's body; a defect is a 422 naming where, not what."""
    try:
        return model.model_validate(verified.body)
    except ValidationError as exc:
        where = "; ".join(
            f"{'.'.join(str(p) for p in err['loc']) or 'body'}: {err['msg']}"
            for err in exc.errors()[:5]
        )
        raise ValidationFailed(f"request body invalid: {where}") from exc


def organisation_ids(registry: Registry) -> frozenset[str]:
    """Org ids a consent may name as recipients (members that hold records)."""
    return frozenset(m.org_id for m in registry.organisations())

"""The share endpoint's one dependency: the verified request and what answering it needs.

One dependency instead of four (request, registry, policy engine, revocation set):
FastAPI solves dependencies per request, and on the share endpoint, whose answers
per second are a DESIGN bar, each costs measurable time. Everything here only reads
``app.state`` or the body, so it is ``async def`` (no worker-thread hop).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request

from federation.consent_token import RevocationSet
from federation.envelope import VerifiedRequest
from federation.registry import Registry
from federation.share_schema import SHARE_ACTION
from node.federation.dependencies import get_registry, verify_partner_body
from node.federation.exceptions import NotInFederation
from node.policy import PolicyEngine


@dataclass(frozen=True)
class ShareContext:
    """A verified share request and what this node needs to answer it."""

    verified: VerifiedRequest
    registry: Registry
    policy: PolicyEngine
    revocations: RevocationSet | None


def share_context(action: str) -> Callable[[Request], Awaitable[ShareContext]]:
    """The dependency for a signed ``action`` request (shaped like ``verified_request``)."""

    async def resolve_share_context(request: Request) -> ShareContext:
        """Verify the request; 503 if the node has no registry or no policy (fail closed)."""
        registry = await get_registry(request)
        verified = await verify_partner_body(request, registry, action)
        policy: PolicyEngine | None = getattr(request.app.state, "policy", None)
        if policy is None:
            raise NotInFederation("the policy engine is not loaded; nothing can be shared")
        revocations: RevocationSet | None = getattr(request.app.state, "revocations", None)
        return ShareContext(verified, registry, policy, revocations)

    return resolve_share_context


ShareContextDep = Annotated[ShareContext, Depends(share_context(SHARE_ACTION))]

"""Dependencies of the share endpoint: the policy engine and the revocation set.

They only read ``app.state``, so they are ``async def``: a plain ``def`` dependency
costs a worker-thread hop per request on the share endpoint's hot path.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from federation.consent_token import RevocationSet
from node.federation.exceptions import NotInFederation
from node.policy import PolicyEngine


async def get_policy_engine(request: Request) -> PolicyEngine:
    """The app's policy engine; 503 if it was never loaded (fail closed)."""
    engine = getattr(request.app.state, "policy", None)
    if engine is None:
        raise NotInFederation("the policy engine is not loaded; nothing can be shared")
    policy: PolicyEngine = engine
    return policy


async def get_revocations(request: Request) -> RevocationSet | None:
    """Revocations pushed by the consent service (None until that module is wired)."""
    revocations: RevocationSet | None = getattr(request.app.state, "revocations", None)
    return revocations


PolicyDep = Annotated[PolicyEngine, Depends(get_policy_engine)]
RevocationsDep = Annotated[RevocationSet | None, Depends(get_revocations)]

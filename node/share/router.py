"""``POST /federation/share``: a partner asks this node for its section of a joined-up view."""

from __future__ import annotations

from functools import partial
from typing import Annotated

from fastapi import APIRouter, Depends, Request

from federation.envelope import VerifiedRequest
from federation.problems import PROBLEM_RESPONSES, problem_doc
from federation.share_schema import SHARE_ACTION
from node.db import run_in_session
from node.federation.dependencies import SIGNED_REQUEST_OPENAPI, RegistryDep, verified_request
from node.share.dependencies import PolicyDep, RevocationsDep
from node.share.schemas import ShareResponse
from node.share.service import Holder, answer_share_request

router = APIRouter(tags=["federation"], responses=PROBLEM_RESPONSES)

ShareRequest = Annotated[VerifiedRequest, Depends(verified_request(SHARE_ACTION))]


@router.post(
    "/federation/share",
    response_model=ShareResponse,
    openapi_extra=SIGNED_REQUEST_OPENAPI,
    responses={
        503: problem_doc(
            503,
            "Not in a federation, or the answer could not be audited (so is not released)",
            title="Not in a federation",
            slug="not-in-federation",
            detail="this node is not configured with a federation registry",
        )
    },
)
async def share_section(
    request: Request,
    verified: ShareRequest,
    registry: RegistryDep,
    policy: PolicyDep,
    revocations: RevocationsDep,
) -> ShareResponse:
    """Answer a signed share request with this node's sealed, policy-checked section."""
    state, settings = request.app.state, request.app.state.settings
    answer = partial(
        answer_share_request,
        request=verified,
        registry=registry,
        policy=policy,
        revocations=revocations,
        holder=Holder(settings.org_id, settings.org_name or settings.org_id, settings.org_kind),
        keys=state.keys,
        all_categories=sorted(state.taxonomy.categories),
    )
    token = await run_in_session(state.engine, lambda session: answer(session=session))
    return ShareResponse(response=token)

"""``POST /federation/share``: a partner asks this node for its section of a joined-up view."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

from fastapi import APIRouter, Request
from sqlmodel import Session

from appkit.problems import PROBLEM_RESPONSES, problem_doc
from federation.errors import RequestExpired
from node.db import run_in_session
from node.federation.dependencies import SIGNED_REQUEST_OPENAPI
from node.federation.replay import remember_request
from node.revocations.service import StoredRevocations
from node.share.dependencies import ShareContext, ShareContextDep
from node.share.schemas import ShareResponse
from node.share.service import Holder, answer_share_request

router = APIRouter(tags=["federation"], responses=PROBLEM_RESPONSES)


def _answer_once(
    answer: Callable[..., str | None], context: ShareContext, session: Session
) -> str | None:
    """In the answer's transaction: refuse a replay, read revocations, answer.

    Both checks read the database every process of this node shares, so a replay
    or a revocation received by another process counts here at once.
    """
    remember_request(session=session, verified=context.verified)
    revocations = StoredRevocations(session=session, cache=context.revocations)
    return answer(session=session, revocations=revocations)


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
async def share_section(request: Request, context: ShareContextDep) -> ShareResponse:
    """Answer a signed share request with this node's sealed, policy-checked section."""
    state, settings = request.app.state, request.app.state.settings
    answer = partial(
        answer_share_request,
        request=context.verified,
        registry=context.registry,
        policy=context.policy,
        holder=Holder(settings.org_id, settings.org_name or settings.org_id, settings.org_kind),
        keys=state.keys,
        all_categories=sorted(state.vocabulary.categories),
    )
    token = await run_in_session(state.engine, partial(_answer_once, answer, context))
    if token is None:  # audited as a refusal in the same transaction
        raise RequestExpired("the requester's deadline passed before this node could answer")
    return ShareResponse(response=token)

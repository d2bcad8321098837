"""Evidence endpoints: the catalogue and answers for analysts, and the two partner rounds."""

from __future__ import annotations

from typing import Annotated, Any, TypeVar

from fastapi import APIRouter, Depends, Request

from appkit.problems import PROBLEM_RESPONSES
from federation.envelope import VerifiedRequest
from federation.errors import BadRequest
from federation.evidence import load_catalogue
from federation.wire import MalformedMessage, WireMessage
from federation.wire.evidence import (
    AGGREGATE_CONTRIBUTE_ACTION,
    AGGREGATE_JOIN_ACTION,
    AggregateContribute,
    AggregateContributionResponse,
    AggregateJoin,
    AggregateJoined,
)
from node.auth.dependencies import CurrentStaff
from node.db import SessionDep
from node.evidence import flows, service
from node.evidence.answers import answer_question
from node.evidence.schemas import EvidenceAnswer, EvidenceRequest, QuestionPublic, QuestionsPublic
from node.federation.dependencies import SIGNED_REQUEST_OPENAPI, RegistryDep, verified_request
from node.federation.exceptions import NotInFederation
from node.policy import PolicyEngine

router = APIRouter(responses=PROBLEM_RESPONSES)
M = TypeVar("M", bound=WireMessage)

JoinRequest = Annotated[VerifiedRequest, Depends(verified_request(AGGREGATE_JOIN_ACTION))]
ContributeRequest = Annotated[
    VerifiedRequest, Depends(verified_request(AGGREGATE_CONTRIBUTE_ACTION))
]
_UNAVAILABLE: dict[int | str, dict[str, Any]] = {
    503: {
        "description": "Not in a federation, or too few organisations could take part",
        "content": {"application/problem+json": {}},
    }
}


def _policy(request: Request) -> PolicyEngine:
    policy: PolicyEngine | None = getattr(request.app.state, "policy", None)
    if policy is None:
        raise NotInFederation("the policy engine is not loaded; no evidence can be given")
    return policy


def _parse(model: type[M], verified: VerifiedRequest) -> M:
    try:
        return model.from_body(verified.body)
    except MalformedMessage as exc:
        raise BadRequest(str(exc)) from None


def _answering(request: Request) -> service.Answering:
    settings = request.app.state.settings
    return service.Answering(settings.org_id, settings.org_kind, request.app.state.keys)


@router.get("/evidence/questions", response_model=QuestionsPublic, tags=["evidence"])
def list_questions(_staff: CurrentStaff) -> QuestionsPublic:
    """The evidence catalogue: every question, answerable or planned."""
    questions = [
        QuestionPublic(
            id=q.id,
            label=q.label,
            description=q.description,
            available=q.computable,
            dimensions=q.dimensions,
            reads=q.reads,
        )
        for q in load_catalogue().questions.values()
    ]
    return QuestionsPublic(data=questions, count=len(questions))


@router.post(
    "/evidence/answers", response_model=EvidenceAnswer, tags=["evidence"], responses=_UNAVAILABLE
)
async def ask_question(
    request: Request, body: EvidenceRequest, registry: RegistryDep, staff: CurrentStaff
) -> EvidenceAnswer:
    """Answer a catalogued question across the federation, with disclosure control."""
    return await answer_question(state=request.app.state, registry=registry, staff=staff, body=body)


@router.post(
    flows.JOIN_PATH,
    response_model=AggregateJoined,
    tags=["federation"],
    openapi_extra=SIGNED_REQUEST_OPENAPI,
    responses=_UNAVAILABLE,
)
def join_query(
    request: Request, verified: JoinRequest, session: SessionDep, registry: RegistryDep
) -> AggregateJoined:
    """Round 1: decide by policy whether to take part in an evidence query; audited."""
    return service.decide_join(
        session=session,
        verified=verified,
        body=_parse(AggregateJoin, verified),
        registry=registry,
        policy=_policy(request),
        me=_answering(request),
    )


@router.post(
    flows.CONTRIBUTE_PATH,
    response_model=AggregateContributionResponse,
    tags=["federation"],
    openapi_extra=SIGNED_REQUEST_OPENAPI,
    responses=_UNAVAILABLE,
)
def contribute_counts(
    request: Request, verified: ContributeRequest, session: SessionDep, registry: RegistryDep
) -> AggregateContributionResponse:
    """Round 2: this node's masked counts for a joined query, sealed to the requester."""
    token = service.contribute(
        session=session,
        verified=verified,
        body=_parse(AggregateContribute, verified),
        registry=registry,
        me=_answering(request),
    )
    return AggregateContributionResponse(response=token)

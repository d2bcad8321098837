"""Evidence endpoints: the catalogue and answers for analysts, and the two partner rounds."""

from __future__ import annotations

from typing import Annotated, Any, TypeVar

from fastapi import APIRouter, Depends, Request

from federation.envelope import VerifiedRequest
from federation.errors import BadRequest, ValidationFailed
from federation.evidence import EvidenceQuery, load_catalogue
from federation.problems import PROBLEM_RESPONSES
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
from node.evidence.publish import build_answer, protect
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


def _query(body: EvidenceRequest, categories: frozenset[str]) -> EvidenceQuery:
    chosen = sorted(set(body.categories or categories))
    unknown = [c for c in chosen if c not in categories]
    if unknown or not chosen:
        raise ValidationFailed(f"not need categories here: {', '.join(unknown) or 'none given'}")
    try:
        return EvidenceQuery(
            question=body.question,
            period_from=body.period_from,
            period_to=body.period_to,
            categories=chosen,
            purpose=body.purpose,
        )
    except ValueError as exc:
        raise ValidationFailed(str(exc).splitlines()[-1].strip()) from None


@router.post(
    "/evidence/answers", response_model=EvidenceAnswer, tags=["evidence"], responses=_UNAVAILABLE
)
async def ask_question(
    request: Request, body: EvidenceRequest, registry: RegistryDep, staff: CurrentStaff
) -> EvidenceAnswer:
    """Answer a catalogued question across the federation, with disclosure control."""
    state = request.app.state
    settings = state.settings
    query = _query(body, state.taxonomy.categories)
    asking = flows.Asking(
        org_id=settings.org_id,
        org_kind=settings.org_kind,
        keys=state.keys,
        staff_pseudonym=staff.pseudonym,
        staff_role=staff.role,
        join_deadline_s=settings.evidence_deadline_s,
        contribute_deadline_s=settings.evidence_deadline_s,
    )
    totals = await flows.gather_totals(
        engine=state.engine,
        http=state.http,
        registry=registry,
        policy=_policy(request),
        asking=asking,
        query=query,
    )
    rules = load_catalogue().disclosure
    protected = protect(totals, rules)
    await flows.audit_answer(state.engine, asking, totals, protected.suppressed_count())
    return build_answer(
        totals=totals,
        protected=protected,
        rules=rules,
        category_labels=state.taxonomy.labels,
        registry=registry,
    )


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

"""Partner-facing audit endpoints (signed requests in, sealed signed answers out).

``POST /federation/audit/trace`` — a member's auditor traces one request id: our
entries under it that concern the asker, with inclusion proofs.
``POST /federation/audit/subject-report`` — the consent service, for a signed-in
customer: every entry about that subject, with inclusion proofs.

Both answers are sealed to the asker's X25519 key and signed (``federation.envelope``)
because they name subjects and purposes; ``node.audit.flows`` holds the logic.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, Field

from appkit.problems import PROBLEM_RESPONSES
from federation.envelope import VerifiedRequest, seal_response
from node.audit import flows
from node.audit.schemas import ProvenEntries
from node.db import SessionDep
from node.federation.dependencies import SIGNED_REQUEST_OPENAPI, RegistryDep, verified_request

router = APIRouter(prefix="/federation/audit", tags=["federation"], responses=PROBLEM_RESPONSES)

TraceRequest = Annotated[VerifiedRequest, Depends(verified_request(flows.TRACE_ACTION))]
SubjectReportRequest = Annotated[
    VerifiedRequest, Depends(verified_request(flows.SUBJECT_REPORT_ACTION))
]


class SealedAuditAnswer(BaseModel):
    """A signed JWS whose sealed body is a ``ProvenEntries`` document."""

    response: str = Field(description="Compact JWS, typ joinedup-response+jwt")


def _seal(
    request: Request, verified: VerifiedRequest, registry: RegistryDep, body: ProvenEntries
) -> SealedAuditAnswer:
    state = request.app.state
    token = seal_response(
        keys=state.keys,
        issuer=state.settings.org_id,
        audience=verified.issuer,
        request_id=verified.request_id,
        body=body.model_dump(mode="json"),
        recipient_key=registry.public_key(verified.issuer),
    )
    return SealedAuditAnswer(response=token)


@router.post("/trace", response_model=SealedAuditAnswer, openapi_extra=SIGNED_REQUEST_OPENAPI)
def trace_audit_entries(
    request: Request, verified: TraceRequest, session: SessionDep, registry: RegistryDep
) -> SealedAuditAnswer:
    """Our entries under one request id that concern the asking member, with proofs."""
    body = flows.answer_trace(request=request, session=session, verified=verified)
    return _seal(request, verified, registry, body)


@router.post(
    "/subject-report", response_model=SealedAuditAnswer, openapi_extra=SIGNED_REQUEST_OPENAPI
)
def report_subject_access(
    request: Request, verified: SubjectReportRequest, session: SessionDep, registry: RegistryDep
) -> SealedAuditAnswer:
    """Every entry about one customer, with proofs (asked by the consent service only)."""
    body = flows.answer_subject_report(
        request=request, session=session, verified=verified, registry=registry
    )
    return _seal(request, verified, registry, body)

"""Linkage endpoints: enrol a person (staff), receive a link request (partners), reviews."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request

from appkit.problems import PROBLEM_RESPONSES
from federation.enrolment import verify_enrolment_statement
from federation.envelope import VerifiedRequest
from federation.errors import BadRequest
from federation.share_schema import LINK_ACTION, LinkRequestBody, LinkResponse
from federation.wire import MalformedMessage
from node.db import RowId, SessionDep
from node.federation.dependencies import SIGNED_REQUEST_OPENAPI, RegistryDep, verified_request
from node.links import flows, service
from node.links.dependencies import EnrolStaff, ReviewStaff
from node.links.schemas import (
    EnrolmentPublic,
    LinkReviewPublic,
    LinkReviewsPublic,
    ReviewConfirm,
)
from node.records.dependencies import PageDep

router = APIRouter(responses=PROBLEM_RESPONSES)

LinkRequest = Annotated[VerifiedRequest, Depends(verified_request(LINK_ACTION))]
_UNAVAILABLE: dict[int | str, dict[str, Any]] = {
    code: {"description": desc, "content": {"application/problem+json": {}}}
    for code, desc in [
        (502, "Consent service answer invalid"),
        (503, "Not available"),
        (504, "Consent service unreachable"),
    ]
}


@router.post(
    "/persons/{person_id}/enrol",
    response_model=EnrolmentPublic,
    tags=["links"],
    responses=_UNAVAILABLE,
)
async def enrol_person(
    request: Request,
    person_id: RowId,
    session: SessionDep,
    registry: RegistryDep,
    staff: EnrolStaff,
) -> EnrolmentPublic:
    """Enrol a person with the consent service and ask every partner to link them."""
    state = request.app.state
    who = flows.Enrolling(
        org_id=state.settings.org_id,
        keys=state.keys,
        linkage_key=state.settings.linkage,
        staff_pseudonym=staff.pseudonym,
        staff_role=staff.role,
        deadline_s=state.settings.share_deadline_s,
    )
    return await flows.enrol_person(
        session=session, http=state.http, registry=registry, person_id=person_id, who=who
    )


@router.post(
    "/federation/link",
    response_model=LinkResponse,
    tags=["federation"],
    openapi_extra=SIGNED_REQUEST_OPENAPI,
    responses={503: _UNAVAILABLE[503]},
)
def receive_link(
    request: Request, verified: LinkRequest, session: SessionDep, registry: RegistryDep
) -> LinkResponse:
    """Match a consent-service-vouched link request here; the answer never says how."""
    try:
        body = LinkRequestBody.from_body(verified.body)
    except MalformedMessage:
        raise BadRequest("link request body is malformed") from None
    verify_enrolment_statement(
        body.enrolment,
        registry=registry,
        subject_id=body.subject_id,
        requester=verified.issuer,
        linkage_tokens=body.linkage_tokens,
    )
    settings = request.app.state.settings
    service.receive_link_request(
        session=session,
        subject_id=body.subject_id,
        tokens=body.linkage_tokens,
        key_version=settings.linkage_key_version,
        requester=verified.issuer,
        request_id=verified.request_id,
        holder_org=settings.org_id,
    )
    return LinkResponse(status="received")


@router.get("/links/reviews", response_model=LinkReviewsPublic, tags=["links"])
def list_link_reviews(
    session: SessionDep,
    page: PageDep,
    _staff: ReviewStaff,
    status: Annotated[
        str, Query(pattern="^(pending|confirmed|rejected)$", description="Review status.")
    ] = "pending",
) -> LinkReviewsPublic:
    """Link requests waiting for a person to decide (or already decided)."""
    rows, count = service.list_reviews(
        session=session, status=status, offset=page.offset, limit=page.limit
    )
    return LinkReviewsPublic(
        data=[LinkReviewPublic.model_validate(r, from_attributes=True) for r in rows], count=count
    )


@router.post("/links/reviews/{review_id}/confirm", response_model=LinkReviewPublic, tags=["links"])
def confirm_link_review(
    request: Request,
    review_id: RowId,
    body: ReviewConfirm,
    session: SessionDep,
    staff: ReviewStaff,
) -> LinkReviewPublic:
    """Confirm a queued link: the subject is this local person."""
    review = service.confirm_review(
        session=session,
        review_id=review_id,
        person_id=body.person_id,
        staff_pseudonym=staff.pseudonym,
        staff_role=staff.role,
        org_id=request.app.state.settings.org_id,
    )
    return LinkReviewPublic.model_validate(review, from_attributes=True)


@router.post("/links/reviews/{review_id}/reject", response_model=LinkReviewPublic, tags=["links"])
def reject_link_review(
    request: Request, review_id: RowId, session: SessionDep, staff: ReviewStaff
) -> LinkReviewPublic:
    """Reject a queued link: the subject is nobody known here."""
    review = service.reject_review(
        session=session,
        review_id=review_id,
        staff_pseudonym=staff.pseudonym,
        staff_role=staff.role,
        org_id=request.app.state.settings.org_id,
    )
    return LinkReviewPublic.model_validate(review, from_attributes=True)

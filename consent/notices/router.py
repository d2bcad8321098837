"""``POST /federation/notices`` (signed ``notify_customer``) and the customer's ``/me/notices``."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Response

from appkit.problems import PROBLEM_RESPONSES
from consent.customers.dependencies import CurrentCustomer
from consent.db import SessionDep
from consent.members.dependencies import SignedBy, parse_body
from consent.notices.schemas import NoticeCreate, NoticePublic, NoticesPublic
from consent.notices.service import list_notices, mark_read, record_notice, to_public
from federation.envelope import VerifiedRequest
from federation.share_schema import NOTIFY_ACTION

router = APIRouter(responses=PROBLEM_RESPONSES)

NoticeId = Annotated[str, Path(min_length=1, max_length=64, pattern=r"^ntc_[A-Za-z0-9_-]+$")]


@router.post(
    "/federation/notices",
    response_model=NoticePublic,
    status_code=201,
    tags=["federation"],
    responses={200: {"description": "The same notice again (idempotent)"}},
)
def create_notice(
    response: Response,
    session: SessionDep,
    verified: Annotated[VerifiedRequest, Depends(SignedBy(NOTIFY_ACTION))],
) -> NoticePublic:
    """Record that the customer must be told of an access (emergency path)."""
    notice, created = record_notice(
        session=session, notice=parse_body(verified, NoticeCreate), from_org=verified.issuer
    )
    if not created:
        response.status_code = 200
    return to_public(notice)


@router.get("/me/notices", response_model=NoticesPublic, tags=["customer"])
def list_my_notices(session: SessionDep, customer: CurrentCustomer) -> NoticesPublic:
    """The notices about the signed-in customer, newest first."""
    return list_notices(session=session, subject_id=customer.subject_id)


@router.post("/me/notices/{notice_id}/read", response_model=NoticePublic, tags=["customer"])
def read_my_notice(
    notice_id: NoticeId, session: SessionDep, customer: CurrentCustomer
) -> NoticePublic:
    """Mark one of the customer's notices read (idempotent)."""
    notice = mark_read(session=session, subject_id=customer.subject_id, notice_id=notice_id)
    return to_public(notice)

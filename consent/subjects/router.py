"""``POST /federation/enrol``: a member node enrols a customer (signed ``enrol`` request)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request

from appkit.problems import PROBLEM_RESPONSES
from consent.db import SessionDep
from consent.members.dependencies import SignedBy, parse_body
from consent.subjects.schemas import EnrolmentPublic, EnrolRequest
from consent.subjects.service import enrol_subject
from federation.enrolment import issue_enrolment_statement
from federation.envelope import VerifiedRequest

router = APIRouter(tags=["federation"], responses=PROBLEM_RESPONSES)


@router.post("/federation/enrol", response_model=EnrolmentPublic)
def enrol_customer(
    request: Request,
    session: SessionDep,
    verified: Annotated[VerifiedRequest, Depends(SignedBy("enrol"))],
) -> EnrolmentPublic:
    """Enrol a customer by linkage tokens; the same person always gets the same subject_id.

    The answer carries a signed statement that the tokens are this subject's, which
    the member attaches to its link requests (``federation.enrolment``).
    """
    body = parse_body(verified, EnrolRequest)
    subject_id, created = enrol_subject(
        session=session, linkage_tokens=body.linkage_tokens, enrolled_by=verified.issuer
    )
    statement = issue_enrolment_statement(
        keys=request.app.state.keys,
        subject_id=subject_id,
        enrolled_by=verified.issuer,
        linkage_tokens=body.linkage_tokens,
    )
    return EnrolmentPublic(subject_id=subject_id, created=created, enrolment=statement)

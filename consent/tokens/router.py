"""``POST /federation/consent-token``: a member node asks for a consent token."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request

from appkit.problems import PROBLEM_RESPONSES
from consent.db import SessionDep
from consent.members.dependencies import SignedBy, parse_body
from consent.tokens.schemas import ConsentTokenPublic, ConsentTokenRequest
from consent.tokens.service import issue_token_for
from federation.envelope import VerifiedRequest

router = APIRouter(tags=["federation"], responses=PROBLEM_RESPONSES)


@router.post("/federation/consent-token", response_model=ConsentTokenPublic)
def create_consent_token(
    request: Request,
    session: SessionDep,
    verified: Annotated[VerifiedRequest, Depends(SignedBy("consent_token"))],
) -> ConsentTokenPublic:
    """Issue a short-lived signed token listing the consent that applies to the requester."""
    body = parse_body(verified, ConsentTokenRequest)
    token, expires_at = issue_token_for(
        session=session,
        keys=request.app.state.keys,
        subject_id=body.subject_id,
        requester=verified.issuer,
        purpose=body.purpose,
        max_age_s=request.app.state.settings.token_max_age_s,
    )
    return ConsentTokenPublic(token=token, expires_at=expires_at)

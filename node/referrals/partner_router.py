"""Federation endpoints of referrals: a partner's offer and a partner's status messages.

``POST /federation/referrals`` takes a signed ``refer`` request (a ``ReferralOffer``)
and answers ``{"response": "<JWT>"}`` as the share endpoint does: a
``ReferralAcknowledgement`` sealed to the sender and signed.
``POST /federation/referral-status`` takes a signed ``referral_status`` request.
Both check the signature, audience, lifetime and action before anything else
(``node.federation.dependencies``) and refuse a replayed request id in the
transaction that acts on it; ``node.referrals.receive`` does the rest.
"""

from __future__ import annotations

from functools import partial
from typing import Annotated, TypeVar

from fastapi import APIRouter, Depends, Request
from sqlmodel import Session

from appkit.problems import PROBLEM_RESPONSES
from federation.envelope import VerifiedRequest, seal_response
from federation.errors import BadRequest
from federation.wire import MalformedMessage, WireMessage
from federation.wire.referral import (
    REFER_ACTION,
    REFERRAL_STATUS_ACTION,
    ReferralOffer,
    ReferralStatus,
)
from node.db import SessionDep, run_in_session, utcnow
from node.federation.dependencies import SIGNED_REQUEST_OPENAPI, verified_request
from node.federation.replay import remember_request
from node.referrals.data import referral_vocabulary
from node.referrals.receive import Receiver, receive_offer, receive_status
from node.referrals.schemas import AcknowledgementResponse, StatusReceived
from node.revocations.service import StoredRevocations
from node.share.dependencies import ShareContext, share_context
from node.share.service import check_consent

router = APIRouter(tags=["federation"], responses=PROBLEM_RESPONSES)
M = TypeVar("M", bound=WireMessage)

OfferContext = Annotated[ShareContext, Depends(share_context(REFER_ACTION))]
StatusRequest = Annotated[VerifiedRequest, Depends(verified_request(REFERRAL_STATUS_ACTION))]


def _parse(model: type[M], verified: VerifiedRequest) -> M:
    try:
        return model.from_body(verified.body)
    except MalformedMessage as exc:
        raise BadRequest(str(exc)) from None


def _receive_once(
    request: Request, context: OfferContext, offer: ReferralOffer, session: Session
) -> str:
    """In the answer's transaction: refuse a replay, check consent, decide, record, seal."""
    state, settings = request.app.state, request.app.state.settings
    verified, registry = context.verified, context.registry
    remember_request(session=session, verified=verified)
    consent = check_consent(
        token=offer.consent_token,
        registry=registry,
        requester=verified.issuer,
        subject_id=offer.subject_id,
        purpose=offer.purpose,
        revocations=StoredRevocations(session=session, cache=context.revocations),
    )
    linkage = settings.linkage
    ack = receive_offer(
        session,
        verified=verified,
        offer=offer,
        decide=partial(context.policy.decide, "act"),
        consent=consent,
        requester_kind=registry.member(verified.issuer).kind,
        receiver=Receiver(
            org_id=settings.org_id,
            org_kind=settings.org_kind,
            keys=state.keys,
            linkage_version=linkage.version if linkage is not None else None,
        ),
        words=referral_vocabulary(settings.policy_dir),
        now=utcnow(),
    )
    return seal_response(
        keys=state.keys,
        issuer=settings.org_id,
        audience=verified.issuer,
        request_id=verified.request_id,
        body=ack.model_dump(mode="json"),
        recipient_key=registry.public_key(verified.issuer),
    )


@router.post(
    "/federation/referrals",
    response_model=AcknowledgementResponse,
    openapi_extra=SIGNED_REQUEST_OPENAPI,
)
async def receive_referral(request: Request, context: OfferContext) -> AcknowledgementResponse:
    """Take a partner's signed referral: decide by policy, record, acknowledge (sealed)."""
    offer = _parse(ReferralOffer, context.verified)
    work = partial(_receive_once, request, context, offer)
    return AcknowledgementResponse(response=await run_in_session(request.app.state.engine, work))


@router.post(
    "/federation/referral-status",
    response_model=StatusReceived,
    openapi_extra=SIGNED_REQUEST_OPENAPI,
)
def receive_referral_status(verified: StatusRequest, session: SessionDep) -> StatusReceived:
    """Apply a partner's signed change of a referral's state."""
    status = _parse(ReferralStatus, verified)
    receive_status(session, verified=verified, status=status, now=utcnow())
    return StatusReceived()

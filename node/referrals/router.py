"""The staff JSON API of referrals: ``/api/referrals`` (send, inbox, outbox, detail, changes).

Sending and every change of state run in one short transaction of their own
(``run_in_session``: the referral, its event, its outbox message and its audit
entry commit together) and then wake the outbox worker, so delivery starts at
once instead of at the worker's next poll. Nothing here awaits a partner.
"""

from __future__ import annotations

from functools import partial
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Request
from sqlmodel import Session

from appkit.problems import PROBLEM_RESPONSES
from node.auth.dependencies import RECORD_ROLES, RequireRole, StaffPrincipal
from node.db import SessionDep, run_in_session, utcnow
from node.referrals import service
from node.referrals.models import Referral
from node.referrals.schemas import (
    ReferralCreate,
    ReferralDetail,
    ReferralEventPublic,
    ReferralForm,
    ReferralOptions,
    ReferralPublic,
    ReferralsPublic,
    TransitionRequest,
)

router = APIRouter(prefix="/api/referrals", tags=["referrals"], responses=PROBLEM_RESPONSES)
ReferralStaff = Annotated[StaffPrincipal, Depends(RequireRole(*RECORD_ROLES))]
ReferralIdPath = Annotated[str, Path(pattern=r"^[0-9a-f]{32}$", description="Referral id.")]


def public(referral: Referral) -> ReferralPublic:
    return ReferralPublic.model_validate(service.public_fields(referral, utcnow()))


def _listing(rows: list[Referral]) -> ReferralsPublic:
    now = utcnow()
    data = [ReferralPublic.model_validate(service.public_fields(r, now)) for r in rows]
    return ReferralsPublic(data=data, count=len(data))


async def _commit_and_wake(request: Request, work: partial[ReferralPublic]) -> ReferralPublic:
    answer = await run_in_session(request.app.state.engine, work)
    outbox = getattr(request.app.state, "outbox", None)
    if outbox is not None:
        outbox.wake()
    return answer


def _send(
    session: Session, *, request: Request, staff: StaffPrincipal, body: ReferralCreate
) -> ReferralPublic:
    holder = getattr(request.app.state, "registry", None)
    referral = service.send_referral(
        session,
        settings=request.app.state.settings,
        staff=staff,
        subject_id=body.subject_id,
        to_org=body.to_org,
        form=ReferralForm.model_validate(body.model_dump(exclude={"subject_id", "to_org"})),
        registry=holder.current() if holder is not None else None,
    )
    return public(referral)


@router.post("", response_model=ReferralPublic, status_code=201)
async def create_referral(
    request: Request, body: ReferralCreate, staff: ReferralStaff
) -> ReferralPublic:
    """Refer a person to a partner organisation; it is delivered through the outbox."""
    return await _commit_and_wake(request, partial(_send, request=request, staff=staff, body=body))


@router.get("/options", response_model=ReferralOptions)
def list_referral_options(request: Request, staff: ReferralStaff) -> ReferralOptions:
    """The urgencies, decline reasons and outcomes the forms offer."""
    words = service.vocabulary(request.app.state.settings)
    return ReferralOptions(
        urgencies={code: u.label for code, u in words.urgencies.items()},
        decline_reasons=words.decline_reasons,
        outcomes=words.outcomes,
    )


@router.get("/inbox", response_model=ReferralsPublic)
def list_inbox(session: SessionDep, staff: ReferralStaff) -> ReferralsPublic:
    """Referrals partners sent here: open ones first, soonest due first."""
    return _listing(service.inbox(session))


@router.get("/outbox", response_model=ReferralsPublic)
def list_outbox(session: SessionDep, staff: ReferralStaff) -> ReferralsPublic:
    """Referrals sent from here, newest first, each flagged when past its response target."""
    return _listing(service.outbox_list(session))


@router.get("/{referral_id}", response_model=ReferralDetail)
def read_referral(
    referral_id: ReferralIdPath, session: SessionDep, staff: ReferralStaff
) -> ReferralDetail:
    """One referral with its whole history at this end."""
    referral, events = service.history(session, referral_id)
    return ReferralDetail(
        referral=public(referral),
        events=[ReferralEventPublic.model_validate(e.model_dump()) for e in events],
    )


def _transition(
    session: Session, *, referral_id: str, staff: StaffPrincipal, body: TransitionRequest
) -> ReferralPublic:
    referral = service.transition(
        session,
        referral_id=referral_id,
        to_state=body.to_state,
        actor=staff,
        reason_code=body.reason_code,
        note=body.note,
        worker=body.worker,
    )
    return public(referral)


@router.post("/{referral_id}/transitions", response_model=ReferralPublic)
async def change_referral_state(
    request: Request, referral_id: ReferralIdPath, body: TransitionRequest, staff: ReferralStaff
) -> ReferralPublic:
    """Accept, decline, ask for information, complete, withdraw or answer (409 if not allowed)."""
    work = partial(_transition, referral_id=referral_id, staff=staff, body=body)
    return await _commit_and_wake(request, work)

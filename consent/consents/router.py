"""Consent endpoints: the customer's own (``/me/consents``), FHIR export, member grants.

Revocation commits first (the session dependency commits before the response is
sent) and the push to member nodes then runs as a background task, so a node never
hears of a revocation that was rolled back.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, BackgroundTasks, Depends, Request
from fastapi.responses import JSONResponse

from appkit.problems import PROBLEM_RESPONSES
from consent.consents.fhir import consent_to_fhir
from consent.consents.models import Consent
from consent.consents.schemas import (
    ConsentCreate,
    ConsentGrant,
    ConsentHistoryPublic,
    ConsentPublic,
    ConsentsPublic,
    ConsentUpdate,
    RevokeRequest,
)
from consent.consents.service import (
    amend_consent,
    consent_history,
    current_provisions,
    get_consent,
    grant_consent,
    list_consents,
    revoke_consent,
    to_public,
)
from consent.customers.dependencies import CurrentCustomer, OwnedConsent
from consent.db import SessionDep
from consent.members.dependencies import (
    SignedBy,
    current_registry,
    organisation_ids,
    parse_body,
)
from consent.revocations.dependencies import schedule_grant_push, schedule_revocation_push
from consent.subjects.service import require_member_knows_subject
from federation.envelope import VerifiedRequest

router = APIRouter(responses=PROBLEM_RESPONSES)

FHIR_MEDIA_TYPE = "application/fhir+json"


def _known_orgs(request: Request) -> frozenset[str]:
    return organisation_ids(current_registry(request))


@router.get("/me/consents", response_model=ConsentsPublic, tags=["customer"])
def list_my_consents(session: SessionDep, customer: CurrentCustomer) -> ConsentsPublic:
    """Every consent of the signed-in customer, active or not."""
    data = list_consents(session=session, subject_id=customer.subject_id)
    return ConsentsPublic(data=data, count=len(data))


@router.post("/me/consents", response_model=ConsentPublic, status_code=201, tags=["customer"])
def create_my_consent(
    request: Request,
    session: SessionDep,
    customer: CurrentCustomer,
    body: ConsentGrant,
    background: BackgroundTasks,
) -> ConsentPublic:
    """Grant a new consent as the signed-in customer (or their advocate)."""
    consent = grant_consent(
        session=session,
        subject_id=customer.subject_id,
        grant=body,
        recorded_by="customer",
        known_orgs=_known_orgs(request),
    )
    schedule_grant_push(request, session, background, consent)
    return to_public(session=session, consent=consent)


@router.get("/me/consents/{consent_id}", response_model=ConsentPublic, tags=["customer"])
def read_my_consent(session: SessionDep, consent: OwnedConsent) -> ConsentPublic:
    """One of the signed-in customer's consents."""
    return to_public(session=session, consent=consent)


@router.patch("/me/consents/{consent_id}", response_model=ConsentPublic, tags=["customer"])
def amend_my_consent(
    request: Request,
    session: SessionDep,
    consent: OwnedConsent,
    body: ConsentUpdate,
    background: BackgroundTasks,
) -> ConsentPublic:
    """Amend an active consent; the previous version stays in its history.

    Every member node is told, as for a revocation, so that tokens issued under the
    previous version stop working at once rather than when they expire.
    """
    amended = amend_consent(
        session=session,
        consent=consent,
        update=body,
        actor="customer",
        known_orgs=_known_orgs(request),
    )
    schedule_revocation_push(request, session, background, amended)
    return to_public(session=session, consent=amended)


@router.post("/me/consents/{consent_id}/revoke", response_model=ConsentPublic, tags=["customer"])
def revoke_my_consent(
    request: Request, session: SessionDep, consent: OwnedConsent, background: BackgroundTasks
) -> ConsentPublic:
    """Revoke a consent (idempotent) and tell every member node."""
    if revoke_consent(session=session, consent=consent, actor="customer"):
        schedule_revocation_push(request, session, background, consent)
    return to_public(session=session, consent=consent)


@router.get(
    "/me/consents/{consent_id}/history", response_model=ConsentHistoryPublic, tags=["customer"]
)
def read_my_consent_history(session: SessionDep, consent: OwnedConsent) -> ConsentHistoryPublic:
    """Every grant, amendment and revocation of the consent, oldest first."""
    events = consent_history(session=session, consent_id=consent.id)
    return ConsentHistoryPublic(consent_id=consent.id, data=events, count=len(events))


@router.get(
    "/consents/{consent_id}/fhir",
    tags=["customer"],
    responses={200: {"content": {FHIR_MEDIA_TYPE: {}}, "description": "FHIR R4 Consent"}},
)
def export_consent_fhir(
    request: Request, session: SessionDep, consent: OwnedConsent
) -> JSONResponse:
    """The consent as an HL7 FHIR R4 Consent resource."""
    holder = getattr(request.app.state, "registry", None)
    names = {m.org_id: m.name for m in holder.current().members} if holder else {}
    resource = consent_to_fhir(consent, current_provisions(session=session, consent=consent), names)
    return JSONResponse(resource, media_type=FHIR_MEDIA_TYPE)


@router.post(
    "/federation/grants", response_model=ConsentPublic, status_code=201, tags=["federation"]
)
def create_grant(
    request: Request,
    session: SessionDep,
    verified: Annotated[VerifiedRequest, Depends(SignedBy("grant"))],
    background: BackgroundTasks,
) -> ConsentPublic:
    """Record a consent given by a customer present at a member that enrolled them."""
    body = parse_body(verified, ConsentCreate)
    require_member_knows_subject(
        session=session, subject_id=body.subject_id, org_id=verified.issuer
    )
    consent = grant_consent(
        session=session,
        subject_id=body.subject_id,
        grant=body,
        recorded_by=verified.issuer,
        known_orgs=_known_orgs(request),
    )
    schedule_grant_push(request, session, background, consent)
    return to_public(session=session, consent=consent)


@router.post("/federation/consents/revoke", response_model=ConsentPublic, tags=["federation"])
def revoke_grant(
    request: Request,
    session: SessionDep,
    background: BackgroundTasks,
    verified: Annotated[VerifiedRequest, Depends(SignedBy("revoke_consent"))],
) -> ConsentPublic:
    """Record a revocation a customer made at a member that enrolled them (idempotent)."""
    body = parse_body(verified, RevokeRequest)
    consent: Consent = get_consent(session=session, consent_id=body.consent_id)
    require_member_knows_subject(
        session=session, subject_id=consent.subject_id, org_id=verified.issuer
    )
    if revoke_consent(session=session, consent=consent, actor=verified.issuer):
        schedule_revocation_push(request, session, background, consent)
    return to_public(session=session, consent=consent)

"""``POST /federation/revocations`` and ``/federation/consent-grants``: consent changes pushed.

A grant push only moves the subject's consent version on (the requester's cached
consent token is then stale); it releases and refuses nothing, so it is not audited.

Only the consent service may call it (a signed ``revoke`` request whose issuer is
the registry's consent service). The revocation is stored and audited in one
transaction, then added to the in-memory set the share endpoint checks. Repeated
pushes of the same revocation answer 200 again (idempotent): a push carrying an
``idempotency_key`` already acted on (a retry from the consent service's outbox)
is answered without acting again (``appkit.outbox.first_delivery``).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from sqlmodel import Session

from appkit.outbox import first_delivery
from appkit.problems import PROBLEM_RESPONSES
from federation.consent_token import RevocationSet
from federation.envelope import VerifiedRequest
from federation.errors import NotPermitted, ValidationFailed
from federation.registry import CONSENT_SERVICE_ID, Registry
from federation.wire import MalformedMessage
from federation.wire.consent_change import ConsentGranted
from node.db import SessionDep
from node.federation.dependencies import SIGNED_REQUEST_OPENAPI, RegistryDep, verified_request
from node.outbox.models import DeliveryReceipt
from node.revocations.schemas import RevocationPush, RevocationRecorded
from node.revocations.service import note_consent_change, record_revocation

router = APIRouter(tags=["federation"], responses=PROBLEM_RESPONSES)

RevokeRequest = Annotated[VerifiedRequest, Depends(verified_request(RevocationPush.action))]
GrantRequest = Annotated[VerifiedRequest, Depends(verified_request(ConsentGranted.action))]


def _from_consent_service(verified: VerifiedRequest, registry: Registry) -> None:
    if verified.issuer != registry.consent_service.org_id or verified.issuer != CONSENT_SERVICE_ID:
        raise NotPermitted("only the consent service may push consent changes")


def _first_delivery(session: Session, verified: VerifiedRequest) -> bool:
    return verified.idempotency_key is None or first_delivery(
        session=session,
        model=DeliveryReceipt,
        sender=verified.issuer,
        idempotency_key=verified.idempotency_key,
    )


@router.post(
    "/federation/revocations",
    response_model=RevocationRecorded,
    openapi_extra=SIGNED_REQUEST_OPENAPI,
)
def receive_revocation(
    request: Request, verified: RevokeRequest, session: SessionDep, registry: RegistryDep
) -> RevocationRecorded:
    """Record a revocation pushed by the consent service."""
    _from_consent_service(verified, registry)
    try:
        push = RevocationPush.from_body(verified.body)
    except MalformedMessage as exc:
        raise ValidationFailed("revocation body invalid") from exc
    if not _first_delivery(session, verified):
        return RevocationRecorded()  # acted on when it first arrived
    record_revocation(
        session=session,
        consent_id=push.consent_id,
        subject_id=push.subject_id,
        revoked_at=push.revoked_at,
        request_id=verified.request_id,
        actor_org=verified.issuer,
    )
    revocations: RevocationSet | None = getattr(request.app.state, "revocations", None)
    if revocations is None:
        revocations = request.app.state.revocations = RevocationSet()
    # Added before the commit: if the commit failed the node would refuse a little
    # more than it must, never less (fail closed).
    revocations.add(push.consent_id, push.revoked_at)
    return RevocationRecorded()


@router.post(
    "/federation/consent-grants",
    response_model=RevocationRecorded,
    openapi_extra=SIGNED_REQUEST_OPENAPI,
)
def receive_grant(
    verified: GrantRequest, session: SessionDep, registry: RegistryDep
) -> RevocationRecorded:
    """Note that a subject gained a consent: a cached consent token for them is stale."""
    _from_consent_service(verified, registry)
    try:
        push = ConsentGranted.from_body(verified.body)
    except MalformedMessage as exc:
        raise ValidationFailed("consent grant body invalid") from exc
    if _first_delivery(session, verified):
        note_consent_change(session=session, subject_id=push.subject_id)
    return RevocationRecorded()

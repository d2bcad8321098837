"""Delivering referral messages: the node outbox worker's senders for offers and statuses.

``send_offer`` makes one attempt to deliver a queued ``ReferralOffer``: it asks the
consent service for a fresh consent token first (a token lives 30 s and a referral
may wait hours for a receiver that is down; if the consent service cannot be reached
the attempt is retried rather than sent without consent, which the receiver would
refuse for good), unless the referral is on the emergency path; then it posts the
signed offer with the referral id as idempotency key, verifies and opens the
receiver's sealed acknowledgement and records it (``apply_acknowledgement``) in a
short transaction of its own. ``send_status`` posts a ``ReferralStatus``.

Each attempt is a new signed request (a new request id for the replay cache) with
the same idempotency key, so a retry is never a second referral
(``appkit.outbox.signed``).
"""

from __future__ import annotations

from functools import partial

import anyio
import httpx
from sqlalchemy.engine import Engine
from sqlmodel import Session

from appkit.outbox import ClaimedMessage, DeliveryResult, Outcome, deliver_signed
from appkit.outbox.signed import post_signed
from federation.envelope import new_request_id, open_response
from federation.errors import FederationError
from federation.keys import MemberKeys
from federation.registry import Registry
from federation.wire import MalformedMessage
from federation.wire.referral import ReferralAcknowledgement, ReferralOffer, ReferralStatus
from node.db import utcnow
from node.referrals.models import Referral
from node.referrals.receive import apply_acknowledgement
from node.referrals.service import audit_referral
from node.views.service import obtain_consent_token
from node.views.token_cache import ConsentTokenCache, current_consent_token

OFFER_PATH = "/federation/referrals"
STATUS_PATH = "/federation/referral-status"


def _record_acknowledgement(engine: Engine, ack: ReferralAcknowledgement, partner: str) -> None:
    with Session(engine, expire_on_commit=False) as session:
        apply_acknowledgement(session, ack=ack, partner=partner, now=utcnow())
        session.commit()


def _read_acknowledgement(
    response: httpx.Response,
    *,
    registry: Registry,
    keys: MemberKeys,
    me: str,
    partner: str,
    request_id: str,
    referral_id: str,
) -> ReferralAcknowledgement | None:
    try:
        token = response.json()["response"]
        opened = open_response(
            token,
            registry=registry,
            keys=keys,
            me=me,
            expected_issuer=partner,
            request_id=request_id,
        )
        ack = ReferralAcknowledgement.model_validate(opened)
    except (ValueError, KeyError, TypeError, FederationError):
        return None
    return ack if ack.referral_id == referral_id else None


def _partner_url(registry: Registry, partner: str, path: str) -> str | None:
    """The partner's endpoint, or None while the registry does not list it."""
    if not registry.has(partner):
        return None
    return registry.member(partner).base_url.rstrip("/") + path


def _unlisted(partner: str) -> DeliveryResult:
    return DeliveryResult(Outcome.RETRY, f"the registry does not list {partner}")


async def send_offer(
    message: ClaimedMessage,
    *,
    client: httpx.AsyncClient,
    registry: Registry,
    keys: MemberKeys,
    timeout_s: float,
    me: str,
    engine: Engine,
    consent_tokens: ConsentTokenCache | None = None,
) -> DeliveryResult:
    """One attempt to deliver a referral offer and record the acknowledgement.

    The consent token is the one views keep for the person and purpose while no
    consent change has been pushed since (``node.views.token_cache``), else fresh.
    """
    partner = message.destination
    url = _partner_url(registry, partner, OFFER_PATH)
    if url is None:
        return _unlisted(partner)
    body = dict(message.payload["offer"])
    if "emergency" not in body:
        consent = await current_consent_token(
            cache=consent_tokens,
            engine=engine,
            subject_id=body["subject_id"],
            purpose=body["purpose"],
            needed_s=timeout_s,
            fetch=partial(
                obtain_consent_token,
                client=client,
                registry=registry,
                keys=keys,
                me=me,
                subject_id=body["subject_id"],
                purpose=body["purpose"],
                timeout_s=timeout_s,
            ),
        )
        if consent.status == "unavailable":
            return DeliveryResult(Outcome.RETRY, "the consent service did not answer")
        if consent.token:
            body["consent_token"] = consent.token
    try:
        offer = ReferralOffer.from_body(body)
    except MalformedMessage:
        return DeliveryResult(Outcome.REFUSED, "the queued offer is malformed")
    request_id = new_request_id()
    result, response = await post_signed(
        offer,
        client=client,
        keys=keys,
        issuer=me,
        audience=partner,
        url=url,
        idempotency_key=message.idempotency_key,
        timeout_s=timeout_s,
        request_id=request_id,
    )
    if result.outcome is not Outcome.DELIVERED or response is None:
        return result
    ack = _read_acknowledgement(
        response,
        registry=registry,
        keys=keys,
        me=me,
        partner=partner,
        request_id=request_id,
        referral_id=body["referral_id"],
    )
    if ack is None:  # asked again, the receiver answers the same acknowledgement
        return DeliveryResult(Outcome.RETRY, "the receiver's acknowledgement did not verify")
    await anyio.to_thread.run_sync(partial(_record_acknowledgement, engine, ack, partner))
    return result


def audit_offer_given_up(
    session: Session, message: ClaimedMessage, delivered: bool, *, org_id: str
) -> None:
    """The outbox gave up on an offer (the receiver refused it for good, or never
    answered): append ``referral_sent`` with decision ``error`` so it is not silent.
    The referral stays ``sending``; an admin may try again (docs/operations.md)."""
    if delivered:
        return
    referral = session.get(Referral, message.idempotency_key)
    if referral is None:
        return
    audit_referral(
        session,
        referral,
        kind="referral_sent",
        actor_org=org_id,
        decision="error",
        reason=f"referral NOT delivered to {message.destination} "
        f"(given up after {message.attempts} attempts)",
    )


async def send_status(
    message: ClaimedMessage,
    *,
    client: httpx.AsyncClient,
    registry: Registry,
    keys: MemberKeys,
    timeout_s: float,
    me: str,
) -> DeliveryResult:
    """One attempt to deliver a referral status message."""
    partner = message.destination
    url = _partner_url(registry, partner, STATUS_PATH)
    if url is None:
        return _unlisted(partner)
    try:
        status = ReferralStatus.from_body(message.payload["status"])
    except MalformedMessage:
        return DeliveryResult(Outcome.REFUSED, "the queued status message is malformed")
    return await deliver_signed(
        status,
        client=client,
        keys=keys,
        issuer=me,
        audience=partner,
        url=url,
        idempotency_key=message.idempotency_key,
        timeout_s=timeout_s,
    )

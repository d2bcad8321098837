"""Pushing a revocation, amendment or grant to every member node, through the outbox.

A grant goes out as a ``consent_granted`` notice to ``/federation/consent-grants``
(``federation.wire.consent_change``): it only tells a requester that a consent
token it kept for the subject is stale.

``queue_revocation_push`` writes one ``revocation_push`` message per organisation
in the registry into ``consent_outbox_message``, in the transaction that revokes
or amends the consent: if that transaction rolls back no node hears of it, and
once it commits the push cannot be lost (DESIGN "Running beyond one process").
The outbox worker (``consent.outbox.worker``) then POSTs a ``revoke`` request it
signs afresh for every attempt to ``{base_url}/federation/revocations``, carrying
the message's idempotency key, until the node answers 200 ``{"status":
"recorded"}``; a node that is down gets it when it returns (backoff with jitter,
dead letter after ``outbox_max_attempts``).

The consent token's maximum age still bounds the harm of a push that is never
delivered (DESIGN "Consent"). Logs carry org ids and outcomes only.
"""

from __future__ import annotations

from functools import partial

import httpx
from sqlmodel import Session

from appkit.outbox import ClaimedMessage, DeliveryResult, Outcome, deliver_signed, enqueue
from consent.consents.models import Consent
from consent.outbox.models import ConsentOutboxMessage
from federation.keys import MemberKeys
from federation.registry import CONSENT_SERVICE_ID, Registry
from federation.wire import MalformedMessage, WireMessage
from federation.wire.consent_change import ConsentGranted
from federation.wire.revocation import RevocationPush

REVOCATION_PATH = "/federation/revocations"
REVOCATION_PUSH = "revocation_push"  # the outbox message kind
GRANT_PATH = "/federation/consent-grants"
GRANT_PUSH = "grant_push"  # the outbox message kind of a ``consent_granted`` notice


def queue_revocation_push(*, session: Session, registry: Registry, consent: Consent) -> int:
    """Queue the push to every organisation in the caller's transaction; returns how many."""
    push = RevocationPush(
        consent_id=consent.id,
        subject_id=consent.subject_id,
        revoked_at=int(consent.updated_at.timestamp()),
    )
    return _queue_to_all(session, registry, REVOCATION_PUSH, push)


def queue_grant_push(*, session: Session, registry: Registry, consent: Consent) -> int:
    """Queue the "consent granted" notice to every organisation in the caller's transaction."""
    notice = ConsentGranted(
        consent_id=consent.id,
        subject_id=consent.subject_id,
        granted_at=int(consent.created_at.timestamp()),
    )
    return _queue_to_all(session, registry, GRANT_PUSH, notice)


def _queue_to_all(session: Session, registry: Registry, kind: str, message: WireMessage) -> int:
    members = registry.organisations()
    for member in members:
        enqueue(
            session=session,
            model=ConsentOutboxMessage,
            kind=kind,
            destination=member.org_id,
            payload=message.body(),
        )
    return len(members)


async def _send_to_member(
    message: ClaimedMessage,
    *,
    model: type[WireMessage],
    path: str,
    client: httpx.AsyncClient,
    registry: Registry,
    keys: MemberKeys,
    timeout_s: float,
) -> DeliveryResult:
    if not registry.has(message.destination):
        return DeliveryResult(Outcome.REFUSED, "the organisation has left the federation")
    member = registry.member(message.destination)
    try:
        signed = model.from_body(message.payload)
    except MalformedMessage:
        return DeliveryResult(Outcome.REFUSED, "the queued message is malformed")
    return await deliver_signed(
        signed,
        client=client,
        keys=keys,
        issuer=CONSENT_SERVICE_ID,
        audience=member.org_id,
        url=member.base_url.rstrip("/") + path,
        idempotency_key=message.idempotency_key,
        timeout_s=timeout_s,
    )


# The outbox worker's senders: one attempt at one queued push or grant notice.
send_revocation_push = partial(_send_to_member, model=RevocationPush, path=REVOCATION_PATH)
send_grant_push = partial(_send_to_member, model=ConsentGranted, path=GRANT_PATH)

"""Telling partners of a new catalogue version: the ``guide_announce`` outbox sender.

``node.guide.service.publish_catalogue`` queues one message per partner in the
transaction that publishes; the node's outbox worker delivers each as a signed
``guide_announce`` request to ``POST /federation/guide/announce`` with retries, so
a partner that was down hears of the version when it is back.
"""

from __future__ import annotations

import httpx

from appkit.outbox import ClaimedMessage, DeliveryResult, Outcome, deliver_signed
from federation.keys import MemberKeys
from federation.registry import Registry
from federation.wire import MalformedMessage
from federation.wire.guide import GuideAnnounce

ANNOUNCE_PATH = "/federation/guide/announce"


async def send_announce(
    message: ClaimedMessage,
    *,
    client: httpx.AsyncClient,
    registry: Registry,
    keys: MemberKeys,
    me: str,
    timeout_s: float,
) -> DeliveryResult:
    """One attempt to tell ``message.destination`` of the version in the payload."""
    if not registry.has(message.destination):
        return DeliveryResult(Outcome.REFUSED, "the partner is no longer in the registry")
    try:
        announcement = GuideAnnounce.from_body(message.payload)
    except MalformedMessage:
        return DeliveryResult(Outcome.REFUSED, "the queued announcement is malformed")
    return await deliver_signed(
        announcement,
        client=client,
        keys=keys,
        issuer=me,
        audience=message.destination,
        url=registry.member(message.destination).base_url.rstrip("/") + ANNOUNCE_PATH,
        idempotency_key=message.idempotency_key,
        timeout_s=timeout_s,
    )

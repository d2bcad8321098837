"""Delivering an outbox message as a signed federation request.

Every attempt is a new signed request (``federation.envelope.sign_request``): a
fresh request id, since the receiver's replay cache refuses a request id it has
seen, and a fresh lifetime, since a request is valid for at most 60 s while a
message may wait hours for its receiver. What stays the same across attempts is
the signed ``idempotency_key`` claim, which the receiver records once
(``appkit.outbox.store.first_delivery``) so a retry never acts twice.

The answer decides the outcome: 2xx delivered; 408, 425, 429 and 5xx, or no
answer at all, retry later; any other 4xx is a refusal the receiver would repeat
(a bad signature, a body it rejects), so the message goes to the dead letters.
"""

from __future__ import annotations

import httpx

from appkit.outbox.worker import DeliveryResult, Outcome
from federation.envelope import sign_request
from federation.keys import MemberKeys
from federation.wire import WireMessage

RETRYABLE_4XX = frozenset({408, 425, 429})


async def deliver_signed(
    message: WireMessage,
    *,
    client: httpx.AsyncClient,
    keys: MemberKeys,
    issuer: str,
    audience: str,
    url: str,
    idempotency_key: str,
    timeout_s: float,
) -> DeliveryResult:
    """POST ``message`` freshly signed, carrying ``idempotency_key``; classify the answer."""
    result, _ = await post_signed(
        message,
        client=client,
        keys=keys,
        issuer=issuer,
        audience=audience,
        url=url,
        idempotency_key=idempotency_key,
        timeout_s=timeout_s,
    )
    return result


async def post_signed(
    message: WireMessage,
    *,
    client: httpx.AsyncClient,
    keys: MemberKeys,
    issuer: str,
    audience: str,
    url: str,
    idempotency_key: str,
    timeout_s: float,
    request_id: str | None = None,
) -> tuple[DeliveryResult, httpx.Response | None]:
    """As ``deliver_signed``, also giving the answer (None if there was none) to read."""
    token = sign_request(
        message,
        keys=keys,
        issuer=issuer,
        audience=audience,
        idempotency_key=idempotency_key,
        request_id=request_id,
    )
    try:
        response = await client.post(url, json={"request": token}, timeout=timeout_s)
    except httpx.TimeoutException:
        return DeliveryResult(Outcome.RETRY, "the receiver did not answer in time"), None
    except httpx.HTTPError:
        return DeliveryResult(Outcome.RETRY, "the receiver could not be reached"), None
    status = response.status_code
    if 200 <= status < 300:
        return DeliveryResult(Outcome.DELIVERED), response
    if status >= 500 or status in RETRYABLE_4XX:
        result = DeliveryResult(Outcome.RETRY, f"the receiver was not ready (HTTP {status})")
        return result, response
    result = DeliveryResult(Outcome.REFUSED, f"the receiver refused the message (HTTP {status})")
    return result, response

"""Pushing a revocation to every member node (docs/protocol.md "Revocation push").

After a revocation commits, the consent service POSTs a ``revoke`` request it signs
itself to ``{base_url}/federation/revocations`` of every organisation in the
registry, concurrently, each with a short timeout and a few attempts (a fresh
request id per attempt, since the node's replay cache would refuse a resend). A
node answers 200 ``{"status": "recorded"}``.

The push is best-effort by design (DESIGN "Consent"): a lost push is covered by the
consent token's maximum age, after which no token listing the revoked consent can
be used. Logs carry org ids and outcomes only, never personal data.
"""

from __future__ import annotations

import asyncio
import logging

import httpx

from federation.envelope import sign_request
from federation.keys import MemberKeys
from federation.registry import CONSENT_SERVICE_ID, Member, Registry

log = logging.getLogger("joinedup.consent.revocations")

REVOCATION_PATH = "/federation/revocations"


async def _push_one(
    *,
    client: httpx.AsyncClient,
    keys: MemberKeys,
    member: Member,
    body: dict[str, object],
    timeout_s: float,
    attempts: int,
) -> bool:
    url = member.base_url.rstrip("/") + REVOCATION_PATH
    for attempt in range(1, attempts + 1):
        token = sign_request(
            keys=keys,
            issuer=CONSENT_SERVICE_ID,
            audience=member.org_id,
            action="revoke",
            body=body,
        )
        try:
            response = await client.post(url, json={"request": token}, timeout=timeout_s)
            if response.status_code == 200:
                return True
            log.warning(
                "revocation push refused",
                extra={"org_id": member.org_id, "status": response.status_code},
            )
            if 400 <= response.status_code < 500:
                return False  # the node will not accept it however often we ask
        except httpx.HTTPError as exc:
            log.warning(
                "revocation push failed",
                extra={"org_id": member.org_id, "error": type(exc).__name__, "attempt": attempt},
            )
        if attempt < attempts:
            await asyncio.sleep(0.2 * attempt)
    return False


async def push_revocation(
    *,
    client: httpx.AsyncClient,
    registry: Registry,
    keys: MemberKeys,
    consent_id: str,
    subject_id: str,
    revoked_at: int,
    timeout_s: float,
    attempts: int = 3,
) -> dict[str, bool]:
    """Tell every organisation; returns org_id → delivered."""
    body: dict[str, object] = {
        "consent_id": consent_id,
        "subject_id": subject_id,
        "revoked_at": revoked_at,
    }
    members = registry.organisations()
    results = await asyncio.gather(
        *(
            _push_one(
                client=client,
                keys=keys,
                member=member,
                body=body,
                timeout_s=timeout_s,
                attempts=attempts,
            )
            for member in members
        )
    )
    outcome = {member.org_id: ok for member, ok in zip(members, results, strict=True)}
    log.info(
        "revocation pushed",
        extra={"delivered": sum(results), "members": len(members)},
    )
    return outcome

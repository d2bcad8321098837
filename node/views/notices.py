"""Telling the customer of emergency access: discharging ``notify_customer``.

The share policy attaches ``notify_customer`` (and ``flag_emergency``) to every
release on the emergency path, where no consent was asked. The requesting node,
which asked on that path and saw the answers, sends the consent service one signed
``notify_customer`` request per such view (``POST /federation/notices``): who asked
(the sender), on which basis and for what purpose, which organisations released
and, per organisation, which categories (contact details included when its
contacts were released). The consent service shows it to the customer in the portal.
The notice is idempotent per view, and a failure to deliver it is audited, so an
auditor can see an obligation that was not discharged.
"""

from __future__ import annotations

import logging
from typing import Any

import httpx

from federation.envelope import sign_request
from federation.keys import MemberKeys
from federation.registry import CONSENT_SERVICE_ID, Registry
from federation.share_schema import NOTIFY_ACTION
from federation.view import JoinedUpView
from node.share.service import CONTACT_CATEGORY

NOTIFY_OBLIGATION = "notify_customer"  # the share policy's obligation name
NOTICES_PATH = "/federation/notices"

log = logging.getLogger("joinedup.node.views")


def emergency_notice(view: JoinedUpView, basis: str) -> dict[str, Any] | None:
    """The notice body for ``view``, or None when no partner asked for the customer to be told."""
    holders = sorted({o.org_id for o in view.obligations if o.obligation == NOTIFY_OBLIGATION})
    if not holders:
        return None
    released: dict[str, set[str]] = {org: set() for org in holders}
    for group in view.needs:
        for need in group.needs:
            if need.org_id in released:
                released[need.org_id].add(need.category)
    for action in view.actions:
        if action.org_id in released:
            released[action.org_id].add(action.category)
    # A holder sends contacts only when it releases contact details; for someone who
    # fled abuse, that the address went out is what the notice must not leave out.
    for contact in view.contacts:
        if contact.org_id in released:
            released[contact.org_id].add(CONTACT_CATEGORY)
    return {
        "subject_id": view.subject_id,
        "kind": "emergency_access",
        "view_id": view.view_id,
        "basis": basis,
        "purpose": view.purpose,
        "holders": holders,
        "categories": sorted(set().union(*released.values())),
        "released": {org: sorted(cats) for org, cats in released.items()},
        "occurred_at": view.generated_at.isoformat(),
    }


async def send_notice(
    *,
    client: httpx.AsyncClient,
    registry: Registry,
    keys: MemberKeys,
    me: str,
    notice: dict[str, Any],
    timeout_s: float,
) -> bool:
    """Deliver the notice to the consent service; True when it was recorded."""
    signed = sign_request(
        keys=keys, issuer=me, audience=CONSENT_SERVICE_ID, action=NOTIFY_ACTION, body=notice
    )
    try:
        response = await client.post(
            f"{registry.consent_service.base_url}{NOTICES_PATH}",
            json={"request": signed},
            timeout=timeout_s,
        )
    except httpx.HTTPError as exc:
        log.warning("customer notice not delivered", extra={"exc_type": type(exc).__name__})
        return False
    if response.status_code not in (200, 201):
        log.warning("customer notice refused", extra={"status": response.status_code})
        return False
    return True

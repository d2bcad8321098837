"""Telling the customer of emergency access: discharging ``notify_customer``.

The share policy attaches ``notify_customer`` (and ``flag_emergency``) to every
release on the emergency path, where no consent was asked. The requesting node,
which asked on that path and saw the answers, owes the consent service one signed
``notify_customer`` request per such view (``POST /federation/notices``): who asked
(the sender), on which basis and for what purpose, which organisations released
and, per organisation, which categories (contact details included when its
contacts were released). The consent service shows it to the customer in the portal.

The notice goes through the node's outbox (``appkit.outbox``): ``queue_notice``
writes it in the transaction that records the view, so an emergency view that is
shown always leaves a notice that will be delivered, even if the consent service
is down at the time; the outbox worker sends it (``send_notice``) with retries.
When it is delivered or given up, ``audit_notice_outcome`` appends the
``customer_notice`` entry in the transaction that settles it, so an auditor can see
an obligation that was not discharged.
"""

from __future__ import annotations

from typing import Any

import httpx
from sqlmodel import Session

from appkit.outbox import ClaimedMessage, DeliveryResult, Outcome, deliver_signed, enqueue
from federation.keys import MemberKeys
from federation.registry import CONSENT_SERVICE_ID, Registry
from federation.view import JoinedUpView
from federation.wire import MalformedMessage
from federation.wire.notice import NoticeCreate
from node.audit.service import record_audit
from node.outbox.models import OutboxMessage
from node.share.service import CONTACT_CATEGORY

NOTIFY_OBLIGATION = "notify_customer"  # the share policy's obligation name
NOTICES_PATH = "/federation/notices"
CUSTOMER_NOTICE = "customer_notice"  # the outbox message kind and the audit entry kind


def emergency_notice(view: JoinedUpView, basis: str) -> dict[str, Any] | None:
    """The notice body for ``view``, or None when no partner asked for the customer to be told.

    A ``NoticeCreate``'s body. A view may be asked for under any opaque subject id; one
    the consent service never issued fits no notice, and its fields are queued as they
    are: the outbox refuses to send them and the ``customer_notice`` entry records the
    obligation as NOT discharged, rather than the view failing.
    """
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
    fields: dict[str, Any] = {
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
    try:
        return NoticeCreate.from_body(fields).body()
    except MalformedMessage:
        return fields


def queue_notice(
    *, session: Session, notice: dict[str, Any], staff_pseudonym: str, staff_role: str
) -> None:
    """Queue the notice in the caller's transaction (the one that records the view)."""
    enqueue(
        session=session,
        model=OutboxMessage,
        kind=CUSTOMER_NOTICE,
        destination=CONSENT_SERVICE_ID,
        # Who asked stays here, for this node's own audit entry; only "notice" is sent.
        payload={"notice": notice, "staff_pseudonym": staff_pseudonym, "staff_role": staff_role},
    )


async def send_notice(
    message: ClaimedMessage,
    *,
    client: httpx.AsyncClient,
    registry: Registry,
    keys: MemberKeys,
    me: str,
    timeout_s: float,
) -> DeliveryResult:
    """One attempt to deliver a queued notice to the consent service."""
    if not registry.has(CONSENT_SERVICE_ID):
        return DeliveryResult(Outcome.RETRY, "the registry lists no consent service")
    try:
        notice = NoticeCreate.from_body(message.payload["notice"])
    except MalformedMessage:
        return DeliveryResult(Outcome.REFUSED, "the queued notice is malformed")
    return await deliver_signed(
        notice,
        client=client,
        keys=keys,
        issuer=me,
        audience=CONSENT_SERVICE_ID,
        url=registry.consent_service.base_url.rstrip("/") + NOTICES_PATH,
        idempotency_key=message.idempotency_key,
        timeout_s=timeout_s,
    )


def audit_notice_outcome(
    session: Session, message: ClaimedMessage, delivered: bool, *, org_id: str
) -> None:
    """Append ``customer_notice``: delivered, or NOT delivered (given up)."""
    notice = message.payload["notice"]
    outcome = (
        "delivered to the consent service"
        if delivered
        else f"NOT delivered (given up after {message.attempts} attempts)"
    )
    record_audit(
        session=session,
        kind=CUSTOMER_NOTICE,
        request_id=notice["view_id"],
        actor_org=org_id,
        actor_staff=message.payload.get("staff_pseudonym"),
        actor_role=message.payload.get("staff_role"),
        subject_id=notice["subject_id"],
        purpose=notice["purpose"],
        action=NOTIFY_OBLIGATION,
        decision="info" if delivered else "error",
        reason=f"emergency access notice for {', '.join(notice['holders'])}: {outcome}",
        emergency=True,
        emergency_basis=notice.get("basis"),
    )

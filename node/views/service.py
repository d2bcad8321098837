"""The two calls a view makes besides the fan-out: the consent token and its audit entry.

``obtain_consent_token`` asks the consent service (docs/protocol.md "Consent service
contract", ``POST /federation/consent-token``) for a token the partners verify
offline. It never raises: if the consent service is slow, down or answers oddly the
view still goes out with an empty token — partners then apply only the emergency
path — and the view says why (``ConsentState``).

``record_view_audit`` writes the requester's ``view_requested`` entry, with the
view id as request id so one view can be traced across every node it touched. It is
synchronous (run it in a worker thread) and commits its own short transaction; if
it fails the view is not returned (no release without its audit entry).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any

import httpx
from pydantic import ValidationError
from sqlalchemy.engine import Engine
from sqlmodel import Session

from federation.consent_token import verify_consent_token
from federation.envelope import sign_request
from federation.errors import FederationError
from federation.keys import MemberKeys
from federation.registry import Registry
from federation.view import JoinedUpView
from federation.wire.token import ConsentTokenAsk
from node.audit.service import record_audit
from node.auth.dependencies import StaffPrincipal
from node.views.exceptions import AuditUnavailable
from node.views.notices import queue_notice
from node.views.schemas import ViewEmergency

log = logging.getLogger("joinedup.node.views")

CONSENT_TOKEN_PATH = "/federation/consent-token"
CONSENT_TOKEN_ACTION = ConsentTokenAsk.action


@dataclass(frozen=True)
class ConsentOutcome:
    """The token to attach to every partner request ("" if none) and what to tell staff."""

    token: str
    status: str
    reason: str | None = None
    expires_at: float = 0.0  # the token's ``exp`` (epoch seconds), 0 without a token


async def obtain_consent_token(
    *,
    client: httpx.AsyncClient,
    registry: Registry,
    keys: MemberKeys,
    me: str,
    subject_id: str,
    purpose: str,
    timeout_s: float,
) -> ConsentOutcome:
    """Ask the consent service for a consent token; never raises."""
    try:
        service = registry.consent_service
    except FederationError:
        return ConsentOutcome("", "unavailable", "no consent service in the member registry")
    try:
        ask = ConsentTokenAsk(subject_id=subject_id, purpose=purpose)
    except ValidationError:
        # A view may name any opaque id; one the consent service never issued has no
        # consent (as its 404 for an unknown subject says).
        return ConsentOutcome("", "no_consent", "the person is not enrolled for consent")
    signed = sign_request(
        ask,
        keys=keys,
        issuer=me,
        audience=service.org_id,
    )
    url = service.base_url.rstrip("/") + CONSENT_TOKEN_PATH
    try:
        response = await asyncio.wait_for(
            client.post(url, json={"request": signed}, timeout=timeout_s), timeout=timeout_s
        )
    except (TimeoutError, httpx.HTTPError) as exc:
        log.warning("consent service unreachable", extra={"exc_type": type(exc).__name__})
        return ConsentOutcome("", "unavailable", "the consent service did not answer")
    if response.status_code == 404:
        return ConsentOutcome("", "no_consent", "the person is not enrolled for consent")
    if response.status_code != 200:
        log.warning("consent service refused", extra={"status": response.status_code})
        return ConsentOutcome("", "unavailable", "the consent service reported a problem")
    try:
        token = response.json()["token"]
        # Partners verify it anyway; checking here tells staff the truth about consent.
        claims = verify_consent_token(
            token,
            verify_keys=registry.verify_keys(service.org_id),
            requester=me,
            subject_id=subject_id,
            purpose=purpose,
        )
    except (ValueError, KeyError, TypeError, FederationError):
        return ConsentOutcome("", "unavailable", "the consent service sent an invalid token")
    if not claims.provisions:
        return ConsentOutcome(
            token,
            "no_consent",
            "no active consent covers this purpose",
            expires_at=claims.expires_at,
        )
    return ConsentOutcome(token, "obtained", None, expires_at=claims.expires_at)


def record_view_audit(
    *,
    engine: Engine,
    org_id: str,
    staff: StaffPrincipal,
    view: JoinedUpView,
    requested_categories: Sequence[str],
    emergency: ViewEmergency | None = None,
    notice: dict[str, Any] | None = None,
) -> None:
    """Append the ``view_requested`` entry in its own transaction (blocking: use a thread).

    On the emergency path the basis and the written justification go into the entry,
    so the requester's auditor can review them (every holder records them too). An
    emergency ``notice`` for the customer is queued in that same transaction
    (``node.views.notices``): the view is not shown unless its notice is owed.
    """
    released = sorted({g.category for g in view.needs} | {a.category for a in view.actions})
    summary = " ".join(f"{s.org_id}={s.status}" for s in view.sources)
    consent = view.consent.status if view.consent else "unknown"
    asked = ",".join(requested_categories) or "all"
    try:
        _append_audit(
            engine,
            queue=None
            if notice is None
            else partial(
                queue_notice,
                notice=notice,
                staff_pseudonym=staff.pseudonym,
                staff_role=staff.role,
            ),
            kind="view_requested",
            request_id=view.view_id,
            actor_org=org_id,
            actor_staff=staff.pseudonym,
            actor_role=staff.role,
            subject_id=view.subject_id,
            purpose=view.purpose,
            action="read",
            decision="allow" if any(s.status == "ok" for s in view.sources) else "deny",
            categories=released,
            reason=f"requested {asked}; consent {consent}; sources {summary}",
            emergency=view.emergency,
            emergency_basis=emergency.basis if emergency else None,
            justification=emergency.justification if emergency else None,
        )
    except Exception as exc:  # any failure (SQLAlchemy, raw DB-API, ValueError): fail closed
        log.error("view audit failed", extra={"exc_type": type(exc).__name__})
        raise AuditUnavailable("the view could not be audited, so it is not shown") from exc


def _append_audit(
    engine: Engine, *, queue: Callable[..., None] | None = None, **entry: Any
) -> None:
    """One audit entry (and what ``queue(session=…)`` adds) in a transaction of its own."""
    with Session(engine) as session:
        record_audit(session=session, **entry)
        if queue is not None:
            queue(session=session)
        session.commit()

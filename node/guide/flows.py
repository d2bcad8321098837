"""The guide's staff-facing work, shared by the API and the staff pages.

``publish_change`` publishes the next version after a staff member's change and
audits it (``admin_change``); ``publish_for_staff`` also starts the
announcements once the request has committed.

``find_help`` runs a search and dresses each hit for a worker: the organisation's
display name from the registry, how fresh its catalogue is, and the link that
starts a referral to the service (the referral pages are issue 15's work:
``/ui/referrals/new?org=…&category=…&service=…``).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from fastapi import BackgroundTasks
from sqlmodel import Session, col, select

from appkit.outbox import OutboxWorker
from federation.catalogue import postcode_district
from federation.keys import MemberKeys
from federation.registry import Registry
from node.audit.service import record_audit
from node.auth.dependencies import StaffPrincipal
from node.guide.models import GuidePublication, GuideSource
from node.guide.schemas import (
    GuideHitPublic,
    GuideSearchPublic,
    GuideSourcePublic,
    GuideSourcesPublic,
)
from node.guide.search import search_guide
from node.guide.service import publish_catalogue

REFERRAL_PAGE = "/ui/referrals/new"


def publish_change(
    *,
    session: Session,
    keys: MemberKeys,
    org_id: str,
    registry: Registry | None,
    staff: StaffPrincipal | None,
    request_id: str,
    change: str,
) -> GuidePublication:
    """Publish the next catalogue version after a change, and audit it (by ``staff``,
    or by the command line when None)."""
    publication = publish_catalogue(session=session, keys=keys, org_id=org_id, registry=registry)
    record_audit(
        session=session,
        kind="admin_change",
        request_id=request_id,
        actor_org=org_id,
        actor_staff=staff.pseudonym if staff else None,
        actor_role=staff.role if staff else None,
        action="guide_publish",
        reason=f"service catalogue version {publication.version} published: {change}",
    )
    return publication


async def _wake(outbox: OutboxWorker) -> None:
    outbox.wake()


def publish_for_staff(
    *,
    session: Session,
    state: Any,
    background: BackgroundTasks,
    staff: StaffPrincipal,
    request_id: str,
    change: str,
) -> GuidePublication:
    """``publish_change`` for a request of the app, then wake the outbox once committed
    (on the event loop, after the request's transaction: the announcements are there)."""
    publication = publish_change(
        session=session,
        keys=state.keys,
        org_id=state.settings.org_id,
        registry=current_registry(state),
        staff=staff,
        request_id=request_id,
        change=change,
    )
    outbox = getattr(state, "outbox", None)
    if outbox is not None:
        background.add_task(_wake, outbox)
    return publication


def current_registry(state: Any) -> Registry | None:
    """The app's verified registry, or None for a node outside any federation."""
    holder = getattr(state, "registry", None)
    return None if holder is None else holder.current()


def _org_name(registry: Registry | None, org_id: str, fallback: str) -> str:
    if registry is not None and registry.has(org_id):
        return registry.member(org_id).name
    return fallback or org_id


def referral_url(*, org_id: str, service_key: str, category: str | None) -> str:
    query = {"org": org_id, "service": service_key}
    if category:
        query["category"] = category
    return f"{REFERRAL_PAGE}?{urlencode(query)}"


def find_help(
    *,
    session: Session,
    registry: Registry | None,
    me: str,
    my_name: str,
    text: str = "",
    category: str | None = None,
    age: int | None = None,
    postcode: str | None = None,
    limit: int = 50,
    offset: int = 0,
) -> GuideSearchPublic:
    """Services matching the need and the person, best capacity first."""
    # Only organisations still in the federation (and this one) are offered.
    members = None if registry is None else [m.org_id for m in registry.organisations()]
    if members is not None and me not in members:
        members.append(me)
    hits, total = search_guide(
        session=session,
        text=text,
        category=category,
        age=age,
        district=postcode_district(postcode) if postcode else None,
        org_ids=members,
        limit=limit,
        offset=offset,
    )
    data = []
    for hit in hits:
        takes_referrals = hit.service.how_to_ask.accepts_referrals and hit.org_id != me
        wanted = category if category in hit.service.categories else hit.service.categories[0]
        data.append(
            GuideHitPublic(
                org_id=hit.org_id,
                org_name=_org_name(registry, hit.org_id, my_name if hit.org_id == me else ""),
                service=hit.service,
                catalogue_version=hit.catalogue_version,
                checked_at=hit.checked_at,
                stale=hit.stale,
                referral_url=(
                    referral_url(org_id=hit.org_id, service_key=hit.service.id, category=wanted)
                    if takes_referrals
                    else None
                ),
            )
        )
    return GuideSearchPublic(data=data, count=total)


def list_sources(
    *, session: Session, registry: Registry | None, me: str, my_name: str
) -> GuideSourcesPublic:
    rows = session.exec(select(GuideSource).order_by(col(GuideSource.org_id))).all()
    data = [
        GuideSourcePublic(
            org_id=row.org_id,
            name=_org_name(registry, row.org_id, my_name if row.org_id == me else ""),
            version=row.version,
            checked_at=row.checked_at,
            failed_at=row.failed_at,
            last_error=row.last_error,
            stale=row.last_error is not None,
        )
        for row in rows
    ]
    return GuideSourcesPublic(data=data, count=len(data))

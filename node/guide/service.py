"""This organisation's own catalogue: its services, and publishing them signed.

Every change (create, update, delete) is published in the same transaction:
``publish_catalogue`` raises the version by one, builds the document from every
service, signs it with the node's key (``federation.catalogue.sign_catalogue``),
stores it with its ETag in ``guide_publication`` (which the partner endpoint serves
as stored), refreshes this node's own part of the guide, and queues one signed
``guide_announce`` per partner in the outbox, so partners fetch the new version at
once; a partner that is down hears of it when it is back (and refreshes on its
schedule anyway). Services never commit (the session's owner does).
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from pydantic import ValidationError
from sqlmodel import Session, col, select

from appkit.outbox import enqueue
from appkit.sqltypes import utcnow
from federation.catalogue import (
    CatalogueDocument,
    ServiceEntry,
    catalogue_digest,
    catalogue_etag,
    sign_catalogue,
)
from federation.errors import ValidationFailed
from federation.keys import MemberKeys
from federation.registry import Registry
from federation.wire.guide import GuideAnnounce
from node.guide.exceptions import ServiceExists, ServiceNotFound
from node.guide.models import GuidePublication, GuideService
from node.guide.search import replace_entries
from node.outbox.models import OutboxMessage

PUBLICATION_ID = 1


def list_services(*, session: Session) -> list[ServiceEntry]:
    rows = session.exec(select(GuideService).order_by(col(GuideService.service_key))).all()
    return [ServiceEntry.model_validate(row.document) for row in rows]


def _row(session: Session, service_key: str) -> GuideService:
    row = session.exec(select(GuideService).where(GuideService.service_key == service_key)).first()
    if row is None:
        raise ServiceNotFound(f"no service {service_key!r} in this catalogue")
    return row


def get_service(*, session: Session, service_key: str) -> ServiceEntry:
    return ServiceEntry.model_validate(_row(session, service_key).document)


def create_service(*, session: Session, entry: ServiceEntry, now: dt.datetime) -> ServiceEntry:
    """Add a service (``ServiceExists`` if its id is taken); publish afterwards."""
    taken = session.exec(select(GuideService).where(GuideService.service_key == entry.id)).first()
    if taken is not None:
        raise ServiceExists(f"a service {entry.id!r} is already in this catalogue")
    stored = entry.model_copy(update={"updated_at": now})
    session.add(
        GuideService(
            service_key=entry.id,
            document=stored.model_dump(mode="json"),
            created_at=now,
            updated_at=now,
        )
    )
    session.flush()
    return stored


def update_service(
    *, session: Session, service_key: str, changes: dict[str, Any], now: dt.datetime
) -> ServiceEntry:
    """Apply ``changes`` (top-level fields) to a service; the id cannot change."""
    row = _row(session, service_key)
    merged = {**row.document, **changes, "id": service_key, "updated_at": now.isoformat()}
    try:
        entry = ServiceEntry.model_validate(merged)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first.get("loc", ())) or "service"
        raise ValidationFailed(f"{where}: {first.get('msg')}") from None
    row.document = entry.model_dump(mode="json")
    row.updated_at = now
    session.add(row)
    session.flush()
    return entry


def delete_service(*, session: Session, service_key: str) -> None:
    session.delete(_row(session, service_key))
    session.flush()


def current_publication(*, session: Session) -> GuidePublication | None:
    return session.get(GuidePublication, PUBLICATION_ID)


def current_etag(*, session: Session) -> str | None:
    """The published ETag alone (a conditional fetch needs nothing more)."""
    return session.exec(
        select(GuidePublication.etag).where(GuidePublication.id == PUBLICATION_ID)
    ).first()


def published_service_count(publication: GuidePublication) -> int:
    return len(json.loads(publication.signed)["catalogue"]["services"])


def publish_catalogue(
    *,
    session: Session,
    keys: MemberKeys,
    org_id: str,
    registry: Registry | None,
    now: dt.datetime | None = None,
) -> GuidePublication:
    """Sign the catalogue as the next version, store it, announce it to every partner."""
    at = now or utcnow()
    publication = current_publication(session=session)
    version = (publication.version if publication is not None else 0) + 1
    document = CatalogueDocument(
        org_id=org_id, version=version, issued_at=at, services=list_services(session=session)
    )
    signed = sign_catalogue(document, keys.signing_key)
    etag = catalogue_etag(version, catalogue_digest(signed["catalogue"]))
    text = json.dumps(signed, separators=(",", ":"), ensure_ascii=False)
    if publication is None:
        publication = GuidePublication(id=PUBLICATION_ID, version=version, etag=etag, signed="")
    publication.version = version
    publication.etag = etag
    publication.signed = text
    publication.published_at = at
    session.add(publication)
    replace_entries(
        session=session,
        document=document,
        etag=etag,
        now=at,
        raw_services=signed["catalogue"]["services"],
    )
    if registry is not None:
        announce = GuideAnnounce(version=version).body()
        for member in registry.organisations():
            if member.org_id != org_id:
                enqueue(
                    session=session,
                    model=OutboxMessage,
                    kind=GuideAnnounce.action,
                    destination=member.org_id,
                    payload=announce,
                    now=at,
                )
    session.flush()
    return publication


def ensure_published(
    *, session: Session, keys: MemberKeys, org_id: str, registry: Registry | None
) -> GuidePublication:
    """The current publication, publishing version 1 (possibly empty) if there is none."""
    publication = current_publication(session=session)
    if publication is not None:
        return publication
    return publish_catalogue(session=session, keys=keys, org_id=org_id, registry=registry)

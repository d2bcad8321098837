"""The guide's entries: storing a verified catalogue, and searching them all.

``replace_entries`` swaps one organisation's entries for those of a verified
catalogue and records the version in ``guide_source`` (one transaction, so a
search sees the old catalogue or the new one, never half of each).

``search_guide`` answers "who can help with this": optional need category, free
text through the database's full-text index (SQLite FTS5 ``MATCH``, PostgreSQL
``to_tsvector @@ to_tsquery``; each word matches as a prefix, all words must
match), and eligibility for a given person — an age inside the service's range
and a postcode district inside its area (a service with no limit admits anyone;
an unknown age or district is not held against the person). Results come sorted
by capacity (open, then waiting list by typical wait, then closed), then name.
Each hit says how fresh its catalogue is: ``checked_at`` (the last time its
publisher confirmed it) and ``stale`` (the last attempt to reach it failed).
"""

from __future__ import annotations

import datetime as dt
import json
import re
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, select

from federation.catalogue import (
    CAPACITY_RANK,
    STORED,
    CatalogueDocument,
    ServiceEntry,
    VerifiedService,
    service_digest,
)
from node.guide.models import GuideEntry, GuideEntryDetail, GuideSource

MAX_QUERY_WORDS = 8
_WORD = re.compile(r"[^\W_]+", re.UNICODE)


def _padded(values: list[str]) -> str:
    """ " a b " so that LIKE '% a %' matches a whole item."""
    return " " + " ".join(values) + " " if values else ""


def _search_text(service: ServiceEntry) -> str:
    return " ".join(
        [
            service.name,
            service.description,
            " ".join(service.categories).replace("_", " "),
            " ".join(service.roles),
            service.eligibility.description,
        ]
    )


def entry_values(org_id: str, service: ServiceEntry) -> dict[str, Any]:
    """The ``guide_entry`` row of one service (the columns searches filter on)."""
    eligibility = service.eligibility
    return {
        "org_id": org_id,
        "service_key": service.id,
        "name": service.name,
        "categories": _padded(service.categories),
        "districts": _padded(eligibility.postcode_districts),
        "min_age": eligibility.min_age,
        "max_age": eligibility.max_age,
        "capacity_rank": CAPACITY_RANK[service.capacity],
        "typical_wait_days": service.typical_wait_days,
    }


def source_row(session: Session, org_id: str) -> GuideSource:
    row = session.exec(select(GuideSource).where(GuideSource.org_id == org_id)).first()
    if row is None:
        row = GuideSource(org_id=org_id)
    return row


def store_catalogue(
    *,
    session: Session,
    org_id: str,
    version: int,
    etag: str | None,
    now: dt.datetime,
    services: list[VerifiedService],
) -> None:
    """Make a verified catalogue this organisation's part of the guide, in one transaction.

    Services are matched by digest: those already held stay as they are, the rest
    of the old ones go, the new ones come in; so a catalogue where one service
    changed rewrites two rows, not the whole catalogue.
    """
    entry = GuideEntry.__table__  # type: ignore[attr-defined]
    detail = GuideEntryDetail.__table__  # type: ignore[attr-defined]
    held = dict(
        session.execute(sa.select(entry.c.digest, entry.c.id).where(entry.c.org_id == org_id)).all()
    )
    wanted = {s.digest for s in services}
    gone = [entry_id for digest, entry_id in held.items() if digest not in wanted]
    for chunk in _chunks(gone):
        session.execute(sa.delete(detail).where(detail.c.entry_id.in_(chunk)))
        session.execute(sa.delete(entry).where(entry.c.id.in_(chunk)))
    new = [
        (s.digest, s.raw, s.entry or ServiceEntry.model_validate(s.raw))
        for s in services
        if s.digest not in held
    ]
    if new:
        session.execute(
            sa.insert(entry), [{**entry_values(org_id, m), "digest": d} for d, _, m in new]
        )
        # The ids read back by digest (unique within a catalogue): portable, and far
        # quicker than RETURNING row by row on SQLite.
        ids = dict(
            session.execute(
                sa.select(entry.c.digest, entry.c.id).where(entry.c.org_id == org_id)
            ).all()
        )
        session.execute(
            sa.insert(detail),
            [
                {
                    "entry_id": ids[d],
                    "search_text": _search_text(m),
                    "document": json.dumps(raw, separators=(",", ":"), ensure_ascii=False),
                }
                for d, raw, m in new
            ],
        )
    source = source_row(session, org_id)
    source.version = version
    source.etag = etag
    source.verified_at = now
    source.checked_at = now
    source.failed_at = None
    source.last_error = None
    session.add(source)
    session.flush()


def _chunks(ids: list[int], size: int = 500) -> list[list[int]]:
    return [ids[i : i + size] for i in range(0, len(ids), size)]


def replace_entries(
    *,
    session: Session,
    document: CatalogueDocument,
    etag: str | None,
    now: dt.datetime,
    raw_services: list[dict[str, Any]] | None = None,
) -> None:
    """``store_catalogue`` for a whole document (this node's own, or in tests)."""
    raws = raw_services or [s.model_dump(mode="json") for s in document.services]
    store_catalogue(
        session=session,
        org_id=document.org_id,
        version=document.version,
        etag=etag,
        now=now,
        services=[
            VerifiedService(service_digest(raw), raw, model)
            for raw, model in zip(raws, document.services, strict=True)
        ],
    )


def held_digests(session: Session, org_id: str) -> set[str]:
    entry = GuideEntry.__table__  # type: ignore[attr-defined]
    return set(session.execute(sa.select(entry.c.digest).where(entry.c.org_id == org_id)).scalars())


def _escaped(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def full_text_terms(text: str) -> list[str]:
    """The words of a free-text query (letters and digits only: nothing reaches the
    full-text query language but plain words)."""
    return [w.lower() for w in _WORD.findall(text or "")][:MAX_QUERY_WORDS]


@dataclass(frozen=True)
class GuideHit:
    """One service found, with where it came from and how fresh that is."""

    org_id: str
    service: ServiceEntry
    catalogue_version: int
    checked_at: dt.datetime | None
    stale: bool


def search_guide(
    *,
    session: Session,
    text: str = "",
    category: str | None = None,
    age: int | None = None,
    district: str | None = None,
    org_ids: list[str] | None = None,
    limit: int = 50,
    offset: int = 0,
) -> tuple[list[GuideHit], int]:
    """Matching services, best capacity first, and how many matched in all."""
    entry = GuideEntry.__table__  # type: ignore[attr-defined]
    conditions: list[sa.ColumnElement[bool]] = []
    if category:
        conditions.append(entry.c.categories.like(f"% {_escaped(category)} %", escape="\\"))
    if age is not None:
        conditions.append(sa.or_(entry.c.min_age.is_(None), entry.c.min_age <= age))
        conditions.append(sa.or_(entry.c.max_age.is_(None), entry.c.max_age >= age))
    if district:
        conditions.append(
            sa.or_(entry.c.districts == "", entry.c.districts.like(f"% {district} %"))
        )
    if org_ids is not None:
        conditions.append(entry.c.org_id.in_(org_ids))
    words = full_text_terms(text)
    if words:
        conditions.append(_full_text(session, entry, words))
    where = sa.and_(sa.true(), *conditions)
    total = session.execute(sa.select(sa.func.count()).select_from(entry).where(where)).scalar_one()
    page = session.execute(
        sa.select(entry.c.id, entry.c.org_id)
        .where(where)
        .order_by(
            entry.c.capacity_rank,
            # A literal, not a parameter: SQLite sorts 4x slower with a bound value here.
            sa.func.coalesce(entry.c.typical_wait_days, sa.literal_column("0")),
            entry.c.name,
            entry.c.org_id,
        )
        .limit(limit)
        .offset(offset)
    ).all()
    # The documents of the page only (sorting never touches the wide rows).
    detail = GuideEntryDetail.__table__  # type: ignore[attr-defined]
    documents = dict(
        session.execute(
            sa.select(detail.c.entry_id, detail.c.document).where(
                detail.c.entry_id.in_([entry_id for entry_id, _ in page])
            )
        ).all()
    )
    rows = [(org_id, documents[entry_id]) for entry_id, org_id in page]
    sources = {s.org_id: s for s in session.exec(select(GuideSource)).all()}
    hits = []
    for org_id, document in rows:
        source = sources.get(org_id)
        hits.append(
            GuideHit(
                org_id=org_id,
                service=ServiceEntry.model_validate_json(document, context={STORED: True}),
                catalogue_version=source.version if source else 0,
                checked_at=source.checked_at if source else None,
                stale=bool(source and source.last_error),
            )
        )
    return hits, int(total)


def _full_text(session: Session, entry: sa.Table, words: list[str]) -> sa.ColumnElement[bool]:
    if session.get_bind().dialect.name == "postgresql":
        detail = GuideEntryDetail.__table__  # type: ignore[attr-defined]
        query = " & ".join(f"{word}:*" for word in words)
        # The same expression as the GIN index (migration 0040_guide), so it is used.
        matches = sa.func.to_tsvector(sa.literal_column("'english'"), detail.c.search_text).op(
            "@@"
        )(sa.func.to_tsquery(sa.literal_column("'english'"), query))
        return entry.c.id.in_(sa.select(detail.c.entry_id).where(matches))
    # FTS5: each word a quoted string (no operators can be smuggled in), as a prefix.
    match = " ".join(f'"{word}"*' for word in words)
    return entry.c.id.in_(
        sa.select(sa.literal_column("rowid"))
        .select_from(sa.table("guide_entry_fts"))
        .where(sa.literal_column("guide_entry_fts").op("MATCH")(match))
    )

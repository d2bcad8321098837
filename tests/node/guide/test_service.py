"""The guide in the node's database: publishing raises the version and announces it;
search by category, full text (FTS5 / tsvector), eligibility and capacity; on
SQLite and PostgreSQL alike."""

from __future__ import annotations

import datetime as dt
import itertools
import json

import pytest
from sqlmodel import Session, select

from federation.catalogue import CatalogueDocument, Eligibility, ServiceEntry, verify_catalogue
from federation.keys import MemberKeys
from federation.registry import Registry, new_document, sign_registry, verify_registry
from node.guide import service
from node.guide.exceptions import ServiceExists, ServiceNotFound
from node.guide.search import replace_entries, search_guide
from node.outbox.models import OutboxMessage
from tests.federation.conftest import member_for

NOW = dt.datetime(2026, 12, 1, 12, 0, tzinfo=dt.UTC)
KEYS = {org: MemberKeys.generate() for org in ("council", "gp", "police", "consent")}
AUTHORITY = MemberKeys.generate()


REGISTRY: Registry = verify_registry(
    sign_registry(
        new_document(
            "t",
            1,
            [
                member_for("council", "council", KEYS["council"]),
                member_for("gp", "gp", KEYS["gp"]),
                member_for("police", "police", KEYS["police"]),
                member_for("consent", "consent_service", KEYS["consent"]),
            ],
        ),
        AUTHORITY.signing_key,
    ),
    AUTHORITY.verify_key,
)


def _entry(key: str, **fields: object) -> ServiceEntry:
    base: dict[str, object] = {"id": key, "name": key.replace("-", " ").title()}
    base.setdefault("categories", ["housing"])
    return ServiceEntry.model_validate({**base, **fields})


def _load(session: Session, org_id: str, *services: ServiceEntry, version: int = 1) -> None:
    document = CatalogueDocument(org_id=org_id, version=version, issued_at=NOW, services=services)
    replace_entries(session=session, document=document, etag=f'"v{version}"', now=NOW)


def _keys(session: Session, **query: object) -> list[str]:
    hits, _ = search_guide(session=session, **query)  # type: ignore[arg-type]
    return [hit.service.id for hit in hits]


def test_every_change_is_published_as_the_next_signed_version_and_announced(
    db_session: Session,
) -> None:
    service.create_service(session=db_session, entry=_entry("food-bank"), now=NOW)
    first = service.publish_catalogue(
        session=db_session, keys=KEYS["council"], org_id="council", registry=REGISTRY, now=NOW
    )
    etag, version = first.etag, first.version
    service.update_service(
        session=db_session, service_key="food-bank", changes={"capacity": "closed"}, now=NOW
    )
    second = service.publish_catalogue(
        session=db_session, keys=KEYS["council"], org_id="council", registry=REGISTRY, now=NOW
    )
    assert second.version == version + 1 == 2
    assert second.etag != etag
    document = verify_catalogue(json.loads(second.signed), registry=REGISTRY, publisher="council")
    assert [s.capacity for s in document.services] == ["closed"]
    announced = db_session.exec(
        select(OutboxMessage).where(OutboxMessage.kind == "guide_announce")
    ).all()
    # Each publication tells both other organisations (never itself or the consent service).
    assert sorted((m.destination, m.payload["version"]) for m in announced) == [
        ("gp", 1),
        ("gp", 2),
        ("police", 1),
        ("police", 2),
    ]
    # The node's own services are in its guide too.
    assert _keys(db_session, org_ids=["council"]) == ["food-bank"]


def test_service_ids_are_unique_and_unknown_ones_are_not_found(db_session: Session) -> None:
    service.create_service(session=db_session, entry=_entry("advice"), now=NOW)
    with pytest.raises(ServiceExists):
        service.create_service(session=db_session, entry=_entry("advice"), now=NOW)
    with pytest.raises(ServiceNotFound):
        service.update_service(session=db_session, service_key="nope", changes={}, now=NOW)
    with pytest.raises(ServiceNotFound):
        service.delete_service(session=db_session, service_key="nope")


def test_search_by_category_and_free_text(db_session: Session) -> None:
    _load(
        db_session,
        "gp",
        _entry("talking-therapies", categories=["mental_health"], description="Counselling"),
        _entry("social-prescribing", categories=["social_care", "mental_health"]),
    )
    _load(
        db_session,
        "council",
        _entry("homeless-prevention", categories=["housing"], description="Emergency housing"),
        _entry("debt-advice", categories=["income"], description="Money and rent arrears"),
    )
    assert _keys(db_session, category="mental_health") == [
        "social-prescribing",
        "talking-therapies",
    ]
    assert _keys(db_session, category="social_care") == ["social-prescribing"]
    # Stemmed and prefix matches, every word required.
    assert _keys(db_session, text="counsel") == ["talking-therapies"]
    assert _keys(db_session, text="arrears rent") == ["debt-advice"]
    assert _keys(db_session, text="rent housing") == []
    assert _keys(db_session, text="housing", category="housing") == ["homeless-prevention"]
    # Query syntax is not passed through: operators are plain words.
    assert _keys(db_session, text='"debt" OR NEAR(*') == []
    assert _keys(db_session, text="%") == _keys(db_session)
    assert _keys(db_session, category="%") == []


def test_a_new_catalogue_replaces_the_old_one_whole(db_session: Session) -> None:
    _load(db_session, "police", _entry("victim-care"), _entry("youth-diversion"))
    _load(db_session, "police", _entry("victim-care", description="renamed"), version=2)
    assert _keys(db_session, org_ids=["police"]) == ["victim-care"]
    assert _keys(db_session, text="renamed") == ["victim-care"]
    assert _keys(db_session, text="diversion") == []


def test_results_sort_by_capacity_then_wait(db_session: Session) -> None:
    _load(
        db_session,
        "council",
        _entry("closed-one", capacity="closed"),
        _entry("long-wait", capacity="waiting_list", typical_wait_days=30),
        _entry("short-wait", capacity="waiting_list", typical_wait_days=3),
        _entry("open-one", capacity="open"),
    )
    assert _keys(db_session) == ["open-one", "short-wait", "long-wait", "closed-one"]


AGE_LIMITS = [(None, None), (16, None), (None, 25), (16, 25), (18, 18)]
DISTRICT_LIMITS: list[list[str]] = [[], ["LS1"], ["LS1", "LS22"]]


def test_eligibility_filters_agree_with_the_rule_at_every_boundary(db_session: Session) -> None:
    services = [
        _entry(
            f"s{n}",
            eligibility=Eligibility(min_age=low, max_age=high, postcode_districts=districts),
        )
        for n, ((low, high), districts) in enumerate(itertools.product(AGE_LIMITS, DISTRICT_LIMITS))
    ]
    _load(db_session, "gp", *services)
    for age in (None, 0, 15, 16, 17, 18, 19, 25, 26, 130):
        for district in (None, "LS1", "LS2", "LS22"):
            expected = sorted(
                s.id for s in services if s.eligibility.admits(age=age, district=district)
            )
            found = sorted(_keys(db_session, age=age, district=district, limit=100))
            assert found == expected, (age, district)


def test_only_changed_services_are_rewritten(db_session: Session) -> None:
    from node.guide.models import GuideEntry

    _load(db_session, "housing", _entry("a"), _entry("b"), _entry("c"))
    for row in db_session.exec(select(GuideEntry)).all():
        row.name = "kept as it was"  # a mark only a rewrite would remove
        db_session.add(row)
    db_session.flush()
    _load(db_session, "housing", _entry("a"), _entry("b", capacity="closed"), version=2)
    names = {e.service_key: e.name for e in db_session.exec(select(GuideEntry)).all()}
    assert names == {"a": "kept as it was", "b": "B"}
    assert [h.service.capacity for h in search_guide(session=db_session, text="b")[0]] == ["closed"]

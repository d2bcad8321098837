"""Record services on SQLite and PostgreSQL: linkage tokens, search, taxonomy, ownership."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlmodel import Session

from federation.errors import Conflict, NotFound, ValidationFailed
from federation.linkage import LinkageKey, linkage_tokens
from federation.vocabulary import load_vocabulary
from node.records import service

KEY = LinkageKey(1, b"federation-linkage-secret-0001")
VOCABULARY = load_vocabulary()
GRACE = {
    "family_name": "Okafor",
    "given_name": "Grace",
    "date_of_birth": dt.date(1984, 3, 17),
    "postcode": "LS6 2AB",
    "national_number": "943 476 5919",
}


def test_person_gets_linkage_tokens_under_the_configured_key(db_session: Session) -> None:
    person = service.create_person(session=db_session, data=GRACE, linkage_key=KEY)
    assert person.linkage_tokens == linkage_tokens(key=KEY, **GRACE)  # type: ignore[arg-type]
    assert len(person.linkage_tokens) == 2
    assert person.local_ref.startswith("P-")


def test_person_without_a_linkage_key_has_no_tokens(db_session: Session) -> None:
    person = service.create_person(session=db_session, data=GRACE, linkage_key=None)
    assert person.linkage_tokens == []


def test_changing_an_identifier_recomputes_the_tokens(db_session: Session) -> None:
    person = service.create_person(session=db_session, data=GRACE, linkage_key=KEY)
    before = list(person.linkage_tokens)
    assert person.id is not None
    updated = service.update_person(
        session=db_session, person_id=person.id, changes={"postcode": "LS7 1QT"}, linkage_key=KEY
    )
    assert updated.linkage_tokens != before
    assert updated.linkage_tokens == linkage_tokens(key=KEY, **{**GRACE, "postcode": "LS7 1QT"})  # type: ignore[arg-type]
    assert updated.updated_at >= updated.created_at
    assert updated.updated_at.tzinfo is not None


def test_local_ref_is_unique(db_session: Session) -> None:
    service.create_person(session=db_session, data={**GRACE, "local_ref": "R1"}, linkage_key=None)
    with pytest.raises(Conflict):
        service.create_person(
            session=db_session, data={**GRACE, "local_ref": "R1"}, linkage_key=None
        )


def test_search_matches_every_word_case_insensitively_or_the_local_ref(
    db_session: Session,
) -> None:
    service.create_person(session=db_session, data={**GRACE, "local_ref": "A-1"}, linkage_key=None)
    service.create_person(
        session=db_session,
        data={**GRACE, "given_name": "Gregory", "local_ref": "A-2"},
        linkage_key=None,
    )
    service.create_person(
        session=db_session,
        data={**GRACE, "family_name": "Smith_%", "local_ref": "A-3"},
        linkage_key=None,
    )

    def refs(q: str) -> list[str]:
        rows, count = service.list_persons(session=db_session, q=q, offset=0, limit=10)
        assert count == len(rows)
        return sorted(p.local_ref for p in rows)

    assert refs("okaf") == ["A-1", "A-2"]
    assert refs("GRACE okafor") == ["A-1"]
    assert refs("A-2") == ["A-2"]
    assert refs("_%") == ["A-3"]  # LIKE wildcards are matched literally
    assert refs("nobody") == []


def test_paging_reports_the_total(db_session: Session) -> None:
    for n in range(5):
        service.create_person(
            session=db_session, data={**GRACE, "local_ref": f"pg-{n}"}, linkage_key=None
        )
    rows, count = service.list_persons(session=db_session, q=None, offset=3, limit=10)
    assert count == 5
    assert [p.local_ref for p in rows] == ["pg-3", "pg-4"]


def test_need_category_must_be_in_the_taxonomy(db_session: Session) -> None:
    person = service.create_person(session=db_session, data=GRACE, linkage_key=None)
    need = {"person_id": person.id, "category": "housing", "since": dt.date(2024, 1, 1)}
    created = service.create_need(
        session=db_session, data=need, vocabulary=VOCABULARY, recorded_by="abc"
    )
    assert created.recorded_by == "abc"
    with pytest.raises(ValidationFailed, match="unknown category 'astrology'"):
        service.create_need(
            session=db_session,
            data={**need, "category": "astrology"},
            vocabulary=VOCABULARY,
            recorded_by="abc",
        )


def test_records_for_a_missing_person_are_refused(db_session: Session) -> None:
    with pytest.raises(ValidationFailed, match="person 424242 does not exist"):
        service.create_contact(session=db_session, data={"person_id": 424242, "worker_name": "X"})


def test_action_need_must_belong_to_the_same_person(db_session: Session) -> None:
    grace = service.create_person(session=db_session, data=GRACE, linkage_key=None)
    other = service.create_person(
        session=db_session, data={**GRACE, "given_name": "Ann"}, linkage_key=None
    )
    need = service.create_need(
        session=db_session,
        data={"person_id": grace.id, "category": "income", "since": dt.date(2024, 1, 1)},
        vocabulary=VOCABULARY,
        recorded_by="abc",
    )
    with pytest.raises(ValidationFailed, match="different person"):
        service.create_action(
            session=db_session,
            data={"person_id": other.id, "need_id": need.id, "what": "x", "owner": "y"},
        )


def test_null_for_a_required_field_is_refused_but_clears_an_optional_one(
    db_session: Session,
) -> None:
    person = service.create_person(session=db_session, data=GRACE, linkage_key=None)
    assert person.id is not None
    with pytest.raises(ValidationFailed, match="family_name"):
        service.update_person(
            session=db_session, person_id=person.id, changes={"family_name": None}, linkage_key=None
        )
    cleared = service.update_person(
        session=db_session, person_id=person.id, changes={"postcode": None}, linkage_key=None
    )
    assert cleared.postcode is None


def test_unknown_ids_are_not_found(db_session: Session) -> None:
    with pytest.raises(NotFound, match="need 99"):
        service.get_need(session=db_session, need_id=99)

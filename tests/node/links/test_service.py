"""Linkage matching at a node: token equality, ambiguity and conflicting evidence.

Runs on every database backend (``db_session``: SQLite, and PostgreSQL when
configured), because the token search is a SQL text match on a JSON column.
"""

from __future__ import annotations

from datetime import date

import pytest
from sqlmodel import Session, select

from federation.linkage import LinkageKey, linkage_tokens
from node.links.exceptions import ReviewClosed
from node.links.models import LinkReview, SubjectLink
from node.links.service import (
    TokenMatch,
    confirm_review,
    decide_match,
    receive_link_request,
    reject_review,
    usable_tokens,
)
from node.records.service import create_person

KEY = LinkageKey(1, b"k" * 32)
OTHER_VERSION = LinkageKey(2, b"k" * 32)


def tokens(key: LinkageKey = KEY, **person: object) -> list[str]:
    fields = {
        "family_name": "Okafor",
        "given_name": "Grace",
        "date_of_birth": date(1971, 3, 4),
        "postcode": "RV1 2AB",
        "national_number": None,
    }
    fields.update(person)
    return linkage_tokens(key=key, **fields)  # type: ignore[arg-type]


def add_person(session: Session, **person: object) -> int:
    data = {
        "family_name": "Okafor",
        "given_name": "Grace",
        "date_of_birth": date(1971, 3, 4),
        "postcode": "RV1 2AB",
    }
    data.update(person)
    created = create_person(session=session, data=data, linkage_key=KEY)
    assert created.id is not None
    return created.id


def receive(session: Session, subject_id: str, sent: list[str]) -> str:
    return receive_link_request(
        session=session,
        subject_id=subject_id,
        tokens=sent,
        key_version=1,
        requester="council",
        request_id=f"req-{subject_id}",
        holder_org="gp",
    )


def linked_person(session: Session, subject_id: str) -> int | None:
    link = session.exec(select(SubjectLink).where(SubjectLink.subject_id == subject_id)).first()
    return link.person_id if link else None


def test_unique_national_number_match_links(db_session: Session) -> None:
    person = add_person(db_session, national_number="943 476 5919", postcode="ZZ9 9ZZ")
    add_person(db_session, given_name="Other", national_number="111 222 3333")
    sent = tokens(national_number="9434765919")
    assert receive(db_session, "sub_nn", sent) == "linked"
    assert linked_person(db_session, "sub_nn") == person


def test_second_request_for_a_linked_subject_is_already_linked(db_session: Session) -> None:
    person = add_person(db_session, national_number="943 476 5919")
    sent = tokens(national_number="9434765919")
    assert receive(db_session, "sub_twice", sent) == "linked"
    assert receive(db_session, "sub_twice", sent) == "already_linked"
    assert linked_person(db_session, "sub_twice") == person


def test_ambiguous_demographic_match_is_queued_not_linked(db_session: Session) -> None:
    first = add_person(db_session)
    second = add_person(db_session)
    assert receive(db_session, "sub_amb", tokens()) == "queued"
    assert linked_person(db_session, "sub_amb") is None
    review = db_session.exec(select(LinkReview).where(LinkReview.subject_id == "sub_amb")).one()
    assert review.candidate_person_ids == sorted([first, second])
    assert review.status == "pending"
    # A repeat does not queue the same subject twice.
    assert receive(db_session, "sub_amb", tokens()) == "queued"
    assert len(db_session.exec(select(LinkReview)).all()) == 1


def test_national_number_and_demographics_pointing_at_different_people_is_queued(
    db_session: Session,
) -> None:
    add_person(db_session, given_name="Grace", national_number="943 476 5919", postcode="A1 1AA")
    add_person(db_session, given_name="Grace")  # same name/dob/postcode as the request
    sent = tokens(national_number="9434765919")
    assert receive(db_session, "sub_conflict", sent) == "queued"
    assert linked_person(db_session, "sub_conflict") is None


def test_demographic_match_with_a_different_national_number_is_queued(
    db_session: Session,
) -> None:
    add_person(db_session, national_number="111 222 3333")
    sent = tokens(national_number="9434765919")
    assert receive(db_session, "sub_nn_differs", sent) == "queued"


def test_no_match_links_nothing(db_session: Session) -> None:
    add_person(db_session)
    assert receive(db_session, "sub_none", tokens(given_name="Someone")) == "no_match"
    assert linked_person(db_session, "sub_none") is None
    assert db_session.exec(select(LinkReview)).all() == []


def test_tokens_of_another_key_version_are_not_compared(db_session: Session) -> None:
    add_person(db_session)
    sent = tokens(key=OTHER_VERSION)
    assert usable_tokens(sent, 1) == []
    assert receive(db_session, "sub_v2", sent) == "no_match"


def test_person_already_linked_elsewhere_is_queued(db_session: Session) -> None:
    person = add_person(db_session, national_number="943 476 5919")
    db_session.add(SubjectLink(subject_id="sub_first", person_id=person))
    db_session.flush()
    assert receive(db_session, "sub_second", tokens(national_number="9434765919")) == "queued"


def test_confirming_a_review_links_and_closes_it(db_session: Session) -> None:
    first = add_person(db_session)
    add_person(db_session)
    receive(db_session, "sub_review", tokens())
    review = db_session.exec(select(LinkReview)).one()
    assert review.id is not None
    confirmed = confirm_review(
        session=db_session,
        review_id=review.id,
        person_id=first,
        staff_pseudonym="stf_1",
        staff_role="admin",
        org_id="gp",
    )
    assert confirmed.status == "confirmed"
    assert linked_person(db_session, "sub_review") == first
    with pytest.raises(ReviewClosed):
        reject_review(
            session=db_session,
            review_id=review.id,
            staff_pseudonym="stf_1",
            staff_role="admin",
            org_id="gp",
        )


def test_rejecting_a_review_links_nothing(db_session: Session) -> None:
    add_person(db_session)
    add_person(db_session)
    receive(db_session, "sub_reject", tokens())
    review = db_session.exec(select(LinkReview)).one()
    assert review.id is not None
    rejected = reject_review(
        session=db_session,
        review_id=review.id,
        staff_pseudonym="s",
        staff_role="admin",
        org_id="gp",
    )
    assert rejected.status == "rejected"
    assert linked_person(db_session, "sub_reject") is None


@pytest.mark.parametrize(
    ("match", "has_nn", "expected"),
    [
        (TokenMatch(frozenset({1}), frozenset({1}), frozenset({1})), True, 1),
        (TokenMatch(frozenset({1}), frozenset(), frozenset({1})), True, 1),
        (TokenMatch(frozenset(), frozenset({2}), frozenset()), True, 2),
        (TokenMatch(frozenset(), frozenset({2}), frozenset({2})), True, None),
        (TokenMatch(frozenset(), frozenset({2}), frozenset({2})), False, 2),
        (TokenMatch(frozenset({1, 2}), frozenset(), frozenset({1, 2})), True, None),
        (TokenMatch(frozenset({1}), frozenset({2}), frozenset({1})), True, None),
        (TokenMatch(frozenset(), frozenset(), frozenset()), True, None),
    ],
)
def test_decide_match_links_only_unambiguous_agreeing_evidence(
    match: TokenMatch, has_nn: bool, expected: int | None
) -> None:
    assert decide_match(match, request_has_nn=has_nn)[0] == expected

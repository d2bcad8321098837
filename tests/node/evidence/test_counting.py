"""Counting a node's own records for evidence questions, on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlmodel import Session

from federation.evidence import EvidenceQuery, cell_layout, load_catalogue
from node.evidence.counting import count_cells
from node.records.models import Need, Person

CATEGORIES = ["housing", "income", "mental_health"]
UTC = dt.UTC


def layout(question: str, period_from: str = "2026-01", period_to: str = "2026-03"):
    query = EvidenceQuery(
        question=question,
        period_from=period_from,
        period_to=period_to,
        categories=CATEGORIES,
        purpose="service_planning",
    )
    return cell_layout(query, load_catalogue().questions[question])


def person(session: Session, ref: str) -> int:
    row = Person(local_ref=ref, family_name="X", given_name="Y", date_of_birth=dt.date(1980, 1, 1))
    session.add(row)
    session.flush()
    assert row.id is not None
    return row.id


def need(session, person_id, category, since, status="open", changed=None):
    changed = changed or dt.datetime(2026, 6, 1, tzinfo=UTC)
    session.add(
        Need(
            person_id=person_id,
            category=category,
            since=since,
            status=status,
            recorded_by="test",
            updated_at=changed,
        )
    )


@pytest.fixture
def records(db_session: Session) -> Session:
    ann, bob, cat = (person(db_session, r) for r in ("ann", "bob", "cat"))
    need(db_session, ann, "housing", dt.date(2025, 12, 3))  # open all period
    need(db_session, ann, "housing", dt.date(2026, 2, 1))  # same person, same category
    need(db_session, ann, "income", dt.date(2026, 2, 14))  # from February
    need(
        db_session,
        bob,
        "housing",
        dt.date(2026, 1, 20),
        "closed",
        dt.datetime(2026, 2, 10, tzinfo=UTC),
    )
    need(db_session, bob, "mental_health", dt.date(2026, 3, 31), "in_progress")
    need(db_session, cat, "income", dt.date(2026, 4, 1))  # after the period
    need(db_session, cat, "safety", dt.date(2026, 1, 1))  # not asked for
    met = dt.datetime(2025, 12, 31, tzinfo=UTC)
    need(db_session, cat, "mental_health", dt.date(2025, 1, 1), "met", met)  # before January
    db_session.flush()
    return db_session


def test_people_with_open_needs_are_counted_per_category_and_month(records):
    cells = count_cells(session=records, layout=layout("open_needs_by_category_month"))
    #            Jan Feb Mar
    assert cells == [
        2, 2, 1,  # housing: ann (twice: once) + bob until closed in February
        0, 1, 1,  # income: ann from February
        0, 0, 1,  # mental health: bob from 31 March; cat's was met before January
    ]  # fmt: skip


def test_categories_that_occur_together_are_counted_per_pair(records):
    cells = count_cells(session=records, layout=layout("need_cooccurrence"))
    #            housing income mental_health
    assert cells == [
        2, 1, 1,  # housing: ann, bob; with income: ann; with mental health: bob
        0, 1, 0,  # income: ann (cat's starts after the period)
        0, 0, 1,  # mental health: bob
    ]  # fmt: skip


def test_a_period_with_no_records_counts_nothing(records):
    cells = count_cells(
        session=records, layout=layout("open_needs_by_category_month", "2024-01", "2024-02")
    )
    assert cells == [0] * 6

"""The evidence catalogue and the signed bodies of an evidence query."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from federation.evidence import EvidenceQuery, cell_layout, load_catalogue, months_between
from federation.wire import MalformedMessage, message_for
from federation.wire.evidence import AggregateContribute, AggregateJoin

CATEGORIES = ["housing", "income", "mental_health"]


def query(**changes):
    fields = {
        "question": "open_needs_by_category_month",
        "period_from": "2026-11",
        "period_to": "2027-02",
        "categories": CATEGORIES,
        "purpose": "service_planning",
    }
    return EvidenceQuery(**{**fields, **changes})


def test_every_question_has_a_label_a_description_and_the_tables_it_reads():
    catalogue = load_catalogue()
    assert {"open_needs_by_category_month", "need_cooccurrence"} <= {
        q.id for q in catalogue.questions.values() if q.computable
    }
    for question in catalogue.questions.values():
        assert question.label
        assert len(question.description) > 40
        assert question.reads
        assert question.dimensions
    planned = {q.id for q in catalogue.questions.values() if not q.available}
    assert "referrals_by_category_outcome" in planned


def test_the_default_disclosure_rules_are_the_uk_ones():
    rules = load_catalogue().disclosure
    assert (rules.threshold, rules.rounding_base) == (10, 5)


def test_months_run_across_a_year_end():
    assert months_between("2026-11", "2027-02") == ["2026-11", "2026-12", "2027-01", "2027-02"]


def test_every_participant_lays_out_the_same_cells():
    catalogue = load_catalogue()
    by_month = cell_layout(query(), catalogue.questions["open_needs_by_category_month"])
    assert (by_month.rows, by_month.size, by_month.with_totals) == (CATEGORIES, 12, True)
    pairs = cell_layout(
        query(question="need_cooccurrence"), catalogue.questions["need_cooccurrence"]
    )
    assert (pairs.columns, pairs.size, pairs.with_totals) == (CATEGORIES, 9, False)


@pytest.mark.parametrize(
    "changes",
    [
        {"period_from": "2027-03"},  # ends before it starts
        {"period_from": "2020-01"},  # longer than the catalogue allows
        {"period_to": "2027-13"},
        {"categories": ["income", "housing"]},  # not sorted: layouts would differ
        {"categories": ["housing", "housing"]},
        {"categories": []},
        {"question": "DROP TABLE need"},
    ],
)
def test_malformed_queries_are_refused(changes):
    with pytest.raises(ValidationError):
        query(**changes)


def test_the_rounds_are_registered_wire_messages():
    assert message_for("aggregate_join") is AggregateJoin
    assert message_for("aggregate_contribute") is AggregateContribute


def test_a_participant_set_must_be_sorted_distinct_and_at_least_three():
    base = {"query_id": "q" * 20, "query": query().model_dump()}
    body = {**base, "participants": ["council", "gp", "police"]}
    assert AggregateContribute.from_body(body).participants == ["council", "gp", "police"]
    for bad in (["council", "gp"], ["gp", "council", "police"], ["gp", "gp", "police"]):
        with pytest.raises(MalformedMessage):
            AggregateContribute.from_body({**base, "participants": bad})

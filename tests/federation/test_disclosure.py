"""Disclosure control on hand-made tables, and its guarantees on generated ones."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from federation.disclosure import (
    DisclosureRules,
    ProtectedCount,
    protect_counts,
    protect_table,
    round_to_base,
)

RULES = DisclosureRules()


def values(row: list[ProtectedCount]) -> list[int | None]:
    return [c.value for c in row]


def test_rounding_is_to_the_nearest_five_with_halves_up():
    assert [round_to_base(v, 5) for v in (10, 12, 13, 17, 18, 22, 23, 1000)] == [
        10, 10, 15, 15, 20, 20, 25, 1000,
    ]  # fmt: skip


def test_counts_under_ten_are_suppressed_and_the_rest_rounded():
    assert protect_counts([0, 1, 9, 10, 12, 13, 99], RULES) == [
        ProtectedCount(0),
        ProtectedCount(None, "primary"),
        ProtectedCount(None, "primary"),
        ProtectedCount(10),
        ProtectedCount(10),
        ProtectedCount(15),
        ProtectedCount(100),
    ]


def test_zeros_can_be_suppressed_too():
    rules = DisclosureRules(suppress_zeros=True)
    assert protect_counts([0], rules) == [ProtectedCount(None, "primary")]


def test_thresholds_are_data():
    strict = DisclosureRules(threshold=20, rounding_base=10)
    assert protect_counts([15, 24, 25], strict) == [
        ProtectedCount(None, "primary"),
        ProtectedCount(20),
        ProtectedCount(30),
    ]


def test_a_lone_suppressed_cell_in_a_row_gets_a_partner():
    # Row 0: 3 is suppressed; with the row total 63 published, 63 - 20 - 40 = 3.
    table = protect_table([[3, 20, 40], [30, 30, 30]], RULES)
    assert table.cells[0][0].suppressed == "primary"
    assert table.cells[0][1].suppressed == "secondary"  # the row's smallest other cell
    # ...which left columns 0 and 1 with one hidden cell each: their partners go too.
    assert table.cells[1][0].suppressed == "secondary"
    assert table.cells[1][1].suppressed == "secondary"
    assert values(table.cells[0])[2] == 40
    assert values(table.row_totals or []) == [65, 90]
    assert values(table.column_totals or []) == [35, 50, 70]
    assert table.total == ProtectedCount(155)


def test_two_small_cells_that_sum_under_the_threshold_are_not_enough():
    # 2 + 3 = 5: the total minus the visible cell would show that both are tiny.
    table = protect_table([[2, 3, 50, 60]], RULES)
    assert [c.suppressed for c in table.cells[0]] == ["primary", "primary", "secondary", None]


def test_a_row_with_nothing_left_to_hide_hides_its_total():
    table = protect_table([[4, 0], [40, 50]], RULES)
    assert table.cells[0][0].suppressed == "primary"
    assert table.row_totals is not None
    assert table.row_totals[0].suppressed == "primary"  # 4 is itself under ten
    assert table.cells[0][1] == ProtectedCount(0)


def test_a_single_hidden_total_is_covered_by_hiding_the_grand_total():
    # Row 1's total (5) is suppressed; grand total minus row 0's total would give it.
    table = protect_table([[40, 50], [5, 0]], RULES)
    assert table.row_totals is not None
    assert table.row_totals[1].suppressed == "primary"
    assert table.total is not None
    assert table.total.suppressed == "secondary"


def test_without_totals_there_is_no_secondary_suppression():
    table = protect_table([[3, 20, 40]], RULES, with_totals=False)
    assert [c.suppressed for c in table.cells[0]] == ["primary", None, None]
    assert table.row_totals is None
    assert table.total is None


def test_a_table_with_no_small_counts_is_only_rounded():
    table = protect_table([[11, 22], [33, 44]], RULES)
    assert table.suppressed_count() == 0
    assert [values(r) for r in table.cells] == [[10, 20], [35, 45]]
    assert table.total == ProtectedCount(110)


@pytest.mark.parametrize("bad", [[[-1]], [[1.5]], [[True]], [[1, 2], [3]]])
def test_malformed_tables_are_refused(bad):
    with pytest.raises(ValueError):  # noqa: PT011 - the message varies by fault
        protect_table(bad, RULES)


tables = st.integers(min_value=1, max_value=6).flatmap(
    lambda width: st.lists(
        st.lists(
            st.one_of(st.integers(0, 12), st.integers(0, 200)), min_size=width, max_size=width
        ),
        min_size=1,
        max_size=6,
    )
)


@settings(max_examples=300, deadline=None)
@given(tables)
def test_no_hidden_cell_can_be_recovered_from_a_published_total(table):
    protected = protect_table(table, RULES)
    rows, cols = len(table), len(table[0])
    assert protected.row_totals is not None
    assert protected.column_totals is not None
    lines = [([(r, c) for c in range(cols)], protected.row_totals[r]) for r in range(rows)] + [
        ([(r, c) for r in range(rows)], protected.column_totals[c]) for c in range(cols)
    ]
    for cells, total in lines:
        if total.suppressed is not None:
            continue
        hidden = [(r, c) for r, c in cells if protected.cells[r][c].suppressed is not None]
        if hidden:
            assert len(hidden) >= 2
            assert sum(table[r][c] for r, c in hidden) >= RULES.threshold
    for r in range(rows):
        for c in range(cols):
            true, shown = table[r][c], protected.cells[r][c]
            if 0 < true < RULES.threshold:
                assert shown.suppressed == "primary"
            if shown.value is not None:
                assert shown.value % 5 == 0
                assert abs(shown.value - true) <= 2
    hidden_rows = [r for r in range(rows) if protected.row_totals[r].suppressed is not None]
    if protected.total is not None and protected.total.suppressed is None and hidden_rows:
        assert len(hidden_rows) >= 2
        assert sum(sum(table[r]) for r in hidden_rows) >= RULES.threshold

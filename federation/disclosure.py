"""Statistical disclosure control on federation-wide counts (pure, no I/O).

The rules follow the UK's usual practice for published counts about people (ONS
and NHS England small-number guidance): a count under a threshold is suppressed,
every other count is rounded, and where totals are published alongside the cells,
*secondary* suppression hides further cells so that a suppressed cell cannot be
worked out by subtracting the published cells from their row or column total.

    primary      0 < count < threshold                 -> suppressed
    zero         count == 0                            -> shown as 0 (a true zero
                                                          discloses nobody), unless
                                                          ``suppress_zeros``
    rounding     every other count, and every total,   -> nearest ``rounding_base``
                 computed from the true counts            (halves round up)
    secondary    a line (row or column) whose total is published must hide either
                 no cell or at least two whose true counts sum to at least the
                 threshold; otherwise the smallest non-zero visible cell of that
                 line is hidden too, or (none left) the line's total — repeated
                 until every line is safe

Totals are computed from the true counts, then protected like any cell (a total
under the threshold is itself suppressed). The thresholds are data
(``DisclosureRules``; the node reads them from the question catalogue), so a
federation can adopt stricter rules without a code change.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

Suppression = Literal["primary", "secondary"]


class DisclosureRules(BaseModel):
    """The disclosure thresholds (UK defaults: suppress under 10, round to 5)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    threshold: int = Field(default=10, ge=1, le=1000)
    rounding_base: int = Field(default=5, ge=1, le=100)
    suppress_zeros: bool = False


@dataclass(frozen=True)
class ProtectedCount:
    """One published count: ``value`` is None when ``suppressed`` says why."""

    value: int | None
    suppressed: Suppression | None = None


@dataclass(frozen=True)
class ProtectedTable:
    """A protected table; ``row_totals``/``column_totals``/``total`` only if published."""

    cells: list[list[ProtectedCount]]
    row_totals: list[ProtectedCount] | None
    column_totals: list[ProtectedCount] | None
    total: ProtectedCount | None

    def suppressed_count(self) -> int:
        """How many cells and totals are hidden."""
        counts = [c for row in self.cells for c in row]
        counts += (self.row_totals or []) + (self.column_totals or [])
        counts += [self.total] if self.total is not None else []
        return sum(1 for c in counts if c.suppressed is not None)


def round_to_base(value: int, base: int) -> int:
    """``value`` rounded to the nearest multiple of ``base``, halves up (12.5 -> 15)."""
    return ((2 * value + base) // (2 * base)) * base


def _primary(value: int, rules: DisclosureRules) -> bool:
    if value == 0:
        return rules.suppress_zeros
    return value < rules.threshold


def _publish(value: int, hidden: Suppression | None, rules: DisclosureRules) -> ProtectedCount:
    if hidden is not None:
        return ProtectedCount(None, hidden)
    return ProtectedCount(round_to_base(value, rules.rounding_base))


def protect_counts(values: Sequence[int], rules: DisclosureRules) -> list[ProtectedCount]:
    """Cells published without totals: primary suppression and rounding only."""
    _check_counts([list(values)])
    return [_publish(v, "primary" if _primary(v, rules) else None, rules) for v in values]


def _check_counts(table: Sequence[Sequence[int]]) -> None:
    widths = {len(row) for row in table}
    if len(widths) > 1:
        raise ValueError("every row of a table must have the same number of cells")
    for row in table:
        for value in row:
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise ValueError("counts must be non-negative integers")


class _Lines:
    """The table's hidden cells and totals while secondary suppression runs."""

    def __init__(self, table: Sequence[Sequence[int]], rules: DisclosureRules) -> None:
        self.table = table
        self.rules = rules
        self.rows = len(table)
        self.cols = len(table[0]) if table else 0
        self.hidden: dict[tuple[int, int], Suppression] = {
            (r, c): "primary"
            for r in range(self.rows)
            for c in range(self.cols)
            if _primary(table[r][c], rules)
        }
        self.row_total = [sum(row) for row in table]
        self.col_total = [sum(table[r][c] for r in range(self.rows)) for c in range(self.cols)]
        self.hidden_row_total: dict[int, Suppression] = {
            r: "primary" for r, t in enumerate(self.row_total) if _primary(t, rules)
        }
        self.hidden_col_total: dict[int, Suppression] = {
            c: "primary" for c, t in enumerate(self.col_total) if _primary(t, rules)
        }

    def _line_safe(self, cells: list[tuple[int, int]]) -> bool:
        hidden = [rc for rc in cells if rc in self.hidden]
        if not hidden:
            return True
        true_sum = sum(self.table[r][c] for r, c in hidden)
        return len(hidden) >= 2 and true_sum >= self.rules.threshold

    def _hide_one_more(self, cells: list[tuple[int, int]]) -> bool:
        """Hide the smallest non-zero visible cell of the line; False if none is left."""
        visible = [rc for rc in cells if rc not in self.hidden and self.table[rc[0]][rc[1]] > 0]
        if not visible:
            return False
        choice = min(visible, key=lambda rc: (self.table[rc[0]][rc[1]], rc))
        self.hidden[choice] = "secondary"
        return True

    def settle(self) -> None:
        """Apply secondary suppression until every line with a published total is safe."""
        changed = True
        while changed:
            changed = False
            for r in range(self.rows):
                line = [(r, c) for c in range(self.cols)]
                if r in self.hidden_row_total or self._line_safe(line):
                    continue
                if not self._hide_one_more(line):
                    self.hidden_row_total[r] = "secondary"
                changed = True
            for c in range(self.cols):
                line = [(r, c) for r in range(self.rows)]
                if c in self.hidden_col_total or self._line_safe(line):
                    continue
                if not self._hide_one_more(line):
                    self.hidden_col_total[c] = "secondary"
                changed = True
        # The grand total is the sum of the row totals (and of the column totals):
        # with exactly one of either hidden, it would give that one back.
        grand = sum(self.row_total)
        self.hidden_grand: Suppression | None = "primary" if _primary(grand, self.rules) else None
        for hidden_totals, values in (
            (self.hidden_row_total, self.row_total),
            (self.hidden_col_total, self.col_total),
        ):
            if self.hidden_grand is None and hidden_totals:
                hidden_sum = sum(values[i] for i in hidden_totals)
                if len(hidden_totals) < 2 or hidden_sum < self.rules.threshold:
                    self.hidden_grand = "secondary"
        self.grand = grand


def protect_table(
    table: Sequence[Sequence[int]], rules: DisclosureRules, *, with_totals: bool = True
) -> ProtectedTable:
    """Protect a rows x columns table of counts, with its row, column and grand totals.

    Without totals only primary suppression and rounding apply: no published number
    then relates a hidden cell to visible ones.
    """
    _check_counts(table)
    if not with_totals:
        return ProtectedTable(
            cells=[protect_counts(row, rules) for row in table],
            row_totals=None,
            column_totals=None,
            total=None,
        )
    lines = _Lines(table, rules)
    lines.settle()
    cells = [
        [_publish(v, lines.hidden.get((r, c)), rules) for c, v in enumerate(row)]
        for r, row in enumerate(table)
    ]
    return ProtectedTable(
        cells=cells,
        row_totals=[
            _publish(t, lines.hidden_row_total.get(r), rules) for r, t in enumerate(lines.row_total)
        ],
        column_totals=[
            _publish(t, lines.hidden_col_total.get(c), rules) for c, t in enumerate(lines.col_total)
        ],
        total=_publish(lines.grand, lines.hidden_grand, rules),
    )

"""From unmasked totals to the published answer: disclosure control and plain words.

Only what ``federation.disclosure`` lets out leaves this module: suppressed cells
carry no value, every other number is rounded. For co-occurrence, cells below the
diagonal repeat those above it and are marked ``not_applicable``.
"""

from __future__ import annotations

from collections.abc import Mapping

from federation.disclosure import DisclosureRules, ProtectedCount, ProtectedTable, protect_table
from federation.evidence import month_start
from federation.registry import Registry
from node.evidence.flows import Totals
from node.evidence.schemas import CellPublic, EvidenceAnswer, LeftOut, Shown

_SHOWN: dict[str | None, Shown] = {
    None: "count",
    "primary": "suppressed",
    "secondary": "suppressed_secondary",
}


def _cell(count: ProtectedCount) -> CellPublic:
    return CellPublic(value=count.value, shown=_SHOWN[count.suppressed])


def _month_label(month: str) -> str:
    return month_start(month).strftime("%B %Y")


def protect(totals: Totals, rules: DisclosureRules) -> ProtectedTable:
    """The protected table of ``totals`` under ``rules``."""
    width = len(totals.layout.columns)
    table = [totals.totals[r * width : (r + 1) * width] for r in range(len(totals.layout.rows))]
    return protect_table(table, rules, with_totals=totals.layout.with_totals)


def build_answer(
    *,
    totals: Totals,
    protected: ProtectedTable,
    rules: DisclosureRules,
    category_labels: Mapping[str, str],
    registry: Registry,
) -> EvidenceAnswer:
    """The analyst's answer: labels, the protected cells, who was counted and who not."""
    layout = totals.layout
    pairs = layout.shape == "category_pairs"
    cells = [
        [
            CellPublic(value=None, shown="not_applicable") if pairs and c < r else _cell(count)
            for c, count in enumerate(row)
        ]
        for r, row in enumerate(protected.cells)
    ]
    columns = (
        [category_labels.get(c, c) for c in layout.columns]
        if pairs
        else [_month_label(m) for m in layout.columns]
    )
    names = {m.org_id: m.name for m in registry.members}
    note = (
        f"{totals.question.label}, {_month_label(layout.period[0])} to "
        f"{_month_label(layout.period[1])}, added up across {len(totals.participants)} "
        f"organisations without any organisation's own numbers being seen. Numbers under "
        f"{rules.threshold} are hidden, as are some others so the hidden ones cannot be "
        f"worked out; every number shown is rounded to the nearest {rules.rounding_base}."
    )
    if totals.attempts > 1:
        note += (
            f" The question was asked {totals.attempts} times because an organisation "
            "dropped out part-way; the totals leave it out."
        )
    return EvidenceAnswer(
        evidence_id=totals.evidence_id,
        question=totals.question.id,
        label=totals.question.label,
        description=totals.question.description,
        purpose=totals.query.purpose,
        period_from=layout.period[0],
        period_to=layout.period[1],
        rows=layout.rows,
        row_labels=[category_labels.get(c, c) for c in layout.rows],
        columns=layout.columns,
        column_labels=columns,
        cells=cells,
        row_totals=[_cell(c) for c in protected.row_totals] if protected.row_totals else None,
        column_totals=(
            [_cell(c) for c in protected.column_totals] if protected.column_totals else None
        ),
        total=_cell(protected.total) if protected.total else None,
        organisations=totals.participants,
        left_out=[
            LeftOut(org_id=org, name=names.get(org, org), why=why)
            for org, why in sorted(totals.left_out.items())
        ],
        attempts=totals.attempts,
        note=note,
        threshold=rules.threshold,
        rounding_base=rules.rounding_base,
    )

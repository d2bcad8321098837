"""Counting this node's own records for an evidence question (SQL ``GROUP BY``).

Each computed question shape has one counting function here; it reads only the
tables the catalogue says the question reads and returns one count per cell of the
question's ``CellLayout`` (row-major), ready for secure summation. Nothing here
leaves the node: the counts are masked before they are sent.

"Open in a month": a need counts as open in a month when it began before the month
ended (``since``) and is still ``open`` or ``in_progress``, or was last changed (met,
closed) on or after the month began. The node keeps no status history, so a need
closed in March and reopened in May counts as open from its ``since`` onwards; that
approximation is stated in docs/evidence.md.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import sqlalchemy as sa
from sqlmodel import Session

from federation.evidence import CellLayout, month_start, next_month
from node.db import UTCDateTime
from node.records.models import Need

OPEN_STATUSES = ("open", "in_progress")

_need: sa.Table = Need.__table__  # type: ignore[attr-defined]


def _start_of(day: dt.date) -> dt.datetime:
    return dt.datetime(day.year, day.month, day.day, tzinfo=dt.UTC)


def _open_during(
    starts: sa.ColumnElement[dt.datetime], ends: sa.ColumnElement[dt.date]
) -> sa.ColumnElement[bool]:
    return sa.and_(
        _need.c.since < ends,
        sa.or_(_need.c.status.in_(OPEN_STATUSES), _need.c.updated_at >= starts),
    )


def count_open_needs_by_category_month(*, session: Session, layout: CellLayout) -> list[int]:
    """People with an open need, per (category, month): one pass over ``need``."""
    # A UNION ALL of one-row SELECTs: SQLite has no column aliases on VALUES.
    months = sa.union_all(
        *[
            sa.select(
                sa.literal(m, sa.String).label("month"),
                sa.literal(_start_of(month_start(m)), UTCDateTime).label("starts"),
                sa.literal(next_month(m), sa.Date).label("ends"),
            )
            for m in layout.columns
        ]
    ).subquery("months")
    query = (
        sa.select(
            months.c.month,
            _need.c.category,
            sa.func.count(sa.distinct(_need.c.person_id)),
        )
        .select_from(_need.join(months, _open_during(months.c.starts, months.c.ends)))
        .where(_need.c.category.in_(layout.rows))
        .group_by(months.c.month, _need.c.category)
    )
    row_of = {c: i for i, c in enumerate(layout.rows)}
    col_of = {m: i for i, m in enumerate(layout.columns)}
    cells = [0] * layout.size
    for month, category, people in session.execute(query):
        cells[row_of[category] * len(layout.columns) + col_of[month]] = int(people)
    return cells


def count_need_cooccurrence(*, session: Session, layout: CellLayout) -> list[int]:
    """People with open needs in both categories of each pair during the period."""
    first_month, last_month = layout.period
    starts, ends = _start_of(month_start(first_month)), next_month(last_month)
    held = (
        sa.select(_need.c.person_id, _need.c.category)
        .where(
            _need.c.category.in_(layout.rows),
            _open_during(sa.literal(starts, UTCDateTime), sa.literal(ends, sa.Date)),
        )
        .distinct()
        .cte("held")
    )
    first, second = held.alias("first"), held.alias("second")
    query = (
        sa.select(first.c.category, second.c.category, sa.func.count())
        .select_from(
            first.join(
                second,
                sa.and_(
                    first.c.person_id == second.c.person_id,
                    first.c.category <= second.c.category,
                ),
            )
        )
        .group_by(first.c.category, second.c.category)
    )
    index = {c: i for i, c in enumerate(layout.rows)}
    cells = [0] * layout.size
    for a, b, people in session.execute(query):
        cells[index[a] * len(layout.columns) + index[b]] = int(people)
    return cells


COUNTERS: dict[str, Callable[..., list[int]]] = {
    "category_by_month": count_open_needs_by_category_month,
    "category_pairs": count_need_cooccurrence,
}


def count_cells(*, session: Session, layout: CellLayout) -> list[int]:
    """This node's counts for every cell of ``layout``."""
    return COUNTERS[layout.shape](session=session, layout=layout)

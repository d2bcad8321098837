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
from typing import Any

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


def _month_position(
    column: sa.ColumnElement[Any], starts: list[dt.date | dt.datetime], below: int
) -> sa.ColumnElement[int]:
    """Which month of the period ``column`` falls in (0-based); ``below`` if before it.

    Comparisons with each month's first moment, not ``extract``: they mean the same
    on SQLite and PostgreSQL whatever the session's time zone.
    """
    whens = [(column >= start, index) for index, start in reversed(list(enumerate(starts)))]
    return sa.case(*whens, else_=below)


def count_open_needs_by_category_month(*, session: Session, layout: CellLayout) -> list[int]:
    """People with an open need, per (category, month).

    Each need is open over a run of the period's months. A person with several needs
    in one category counts once per month: taking their needs in order of ``since``
    (the covering index ``ix_need_evidence`` delivers that order without a sort), a
    need adds only the months after the furthest month any earlier one reached (a
    window ``MAX``), and those earlier months are all covered already, because the
    need that reached furthest began no later than this one. The
    database returns one row per (category, first new month, last month) with how
    many needs have it; the cells are filled from those few rows.
    """
    months = layout.columns
    last = len(months) - 1
    day_starts: list[dt.date | dt.datetime] = [month_start(m) for m in months]
    moment_starts: list[dt.date | dt.datetime] = [_start_of(month_start(m)) for m in months]
    runs = (
        sa.select(
            _need.c.person_id,
            _need.c.category,
            _need.c.since,
            _month_position(_need.c.since, day_starts, 0).label("first"),
            sa.case(
                (_need.c.status.in_(OPEN_STATUSES), last),
                else_=_month_position(_need.c.updated_at, moment_starts, -1),
            ).label("last"),
        )
        # No filter on category: the planner would pick the category index and then
        # sort; other categories' rows are skipped below instead.
        .where(_need.c.since < next_month(months[-1]))
        .subquery("runs")
    )
    reach = (
        sa.func.max(runs.c.last)
        .over(
            partition_by=[runs.c.person_id, runs.c.category],
            order_by=runs.c.since,
            rows=(None, -1),
        )
        .label("reach")
    )
    ordered = sa.select(runs.c.category, runs.c.first, runs.c.last, reach).subquery("ordered")
    new_first = sa.case(
        (
            sa.and_(ordered.c.reach.is_not(None), ordered.c.reach >= ordered.c.first),
            ordered.c.reach + 1,
        ),
        else_=ordered.c.first,
    ).label("new_first")
    added = sa.select(ordered.c.category, new_first, ordered.c.last).subquery("added")
    query = (
        sa.select(added.c.category, added.c.new_first, added.c.last, sa.func.count())
        .where(added.c.new_first <= added.c.last)
        .group_by(added.c.category, added.c.new_first, added.c.last)
    )
    row_of = {c: i for i, c in enumerate(layout.rows)}
    cells = [0] * layout.size
    for category, first, end, people in session.execute(query):
        if category not in row_of:
            continue
        base = row_of[category] * len(months)
        for month in range(int(first), int(end) + 1):
            cells[base + month] += int(people)
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

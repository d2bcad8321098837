"""The evidence question catalogue, and the cell layout every participant agrees on.

Analysts do not write queries: they pick a question from a catalogue that is data
(``policies/evidence/questions.json``, shipped in the wheel), each with a label and
a description for the reader, the node tables it reads, its dimensions and a
``shape`` naming the computation a node runs for it. A question marked
``available: false`` is described but not yet computed (referral, plan and
well-being questions arrive with those features: adding one is a data entry plus,
for a new shape, one counting function at the node).

Secure summation adds vectors cell by cell, so every participant must lay out the
cells identically. ``EvidenceQuery`` (question, period, the category list) travels
inside both signed rounds and ``cell_layout`` turns it into the same ordered list
of cells everywhere: nothing about the layout depends on a node's own state.
"""

from __future__ import annotations

import datetime as dt
import json
from functools import lru_cache
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from federation.disclosure import DisclosureRules
from federation.policy_bundle import policy_dir

Shape = Literal[
    "category_by_month",
    "category_pairs",
    "category_by_outcome",
    "category_by_change",
    "owner_type_by_status",
]
# The shapes a node can compute today; the others are catalogued, not yet computed.
COMPUTED_SHAPES: frozenset[str] = frozenset({"category_by_month", "category_pairs"})
MONTH_PATTERN = r"^\d{4}-(0[1-9]|1[0-2])$"
SLUG_PATTERN = r"^[a-z][a-z0-9_]{0,63}$"
MAX_CATEGORIES = 64


class Question(BaseModel):
    """One catalogued question, as the catalogue describes it to people and nodes."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(pattern=SLUG_PATTERN)
    label: str
    description: str
    available: bool
    shape: Shape
    reads: list[str]
    dimensions: list[str]
    counts: str

    @property
    def computable(self) -> bool:
        return self.available and self.shape in COMPUTED_SHAPES


class Catalogue(BaseModel):
    """The whole catalogue: its questions and the disclosure rules for every answer."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    version: int
    disclosure: DisclosureRules
    max_months: int = Field(ge=1, le=120)
    questions: dict[str, Question]

    def question(self, question_id: str) -> Question | None:
        return self.questions.get(question_id)


@lru_cache(maxsize=1)
def load_catalogue() -> Catalogue:
    """The packaged catalogue (read once per process)."""
    path = policy_dir() / "evidence" / "questions.json"
    raw = json.loads(path.read_text(encoding="utf-8"))
    for question_id, question in raw.get("questions", {}).items():
        question["id"] = question_id
    return Catalogue.model_validate(raw)


def month_start(month: str) -> dt.date:
    year, number = month.split("-")
    return dt.date(int(year), int(number), 1)


def months_between(first: str, last: str) -> list[str]:
    """Every month from ``first`` to ``last`` inclusive, as ``YYYY-MM``."""
    start, end = month_start(first), month_start(last)
    found: list[str] = []
    year, month = start.year, start.month
    while (year, month) <= (end.year, end.month):
        found.append(f"{year:04d}-{month:02d}")
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return found


def next_month(month: str) -> dt.date:
    """The first day of the month after ``month``."""
    start = month_start(month)
    return (
        dt.date(start.year + 1, 1, 1) if start.month == 12 else start.replace(month=start.month + 1)
    )


class EvidenceQuery(BaseModel):
    """What is asked, identical in both rounds and at every participant."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    question: str = Field(pattern=SLUG_PATTERN)
    period_from: str = Field(pattern=MONTH_PATTERN, description="First month, YYYY-MM")
    period_to: str = Field(pattern=MONTH_PATTERN, description="Last month, YYYY-MM")
    categories: list[str] = Field(min_length=1, max_length=MAX_CATEGORIES)
    purpose: str = Field(pattern=SLUG_PATTERN)

    @model_validator(mode="after")
    def _check(self) -> EvidenceQuery:
        if self.period_from > self.period_to:
            raise ValueError("the period ends before it starts")
        if len(months_between(self.period_from, self.period_to)) > load_catalogue().max_months:
            raise ValueError(f"a period may span at most {load_catalogue().max_months} months")
        if sorted(set(self.categories)) != self.categories:
            raise ValueError("categories must be sorted and distinct")
        for category in self.categories:
            if not 0 < len(category) <= 64 or not category.replace("_", "").isalnum():
                raise ValueError("a category is not a slug")
        return self


class CellLayout(BaseModel):
    """The ordered cells of an answer: a rows x columns table, or a list of pairs."""

    model_config = ConfigDict(frozen=True)

    shape: Shape
    rows: list[str]
    columns: list[str]
    with_totals: bool
    period: tuple[str, str] = Field(description="First and last month counted")

    @property
    def size(self) -> int:
        return len(self.rows) * len(self.columns)


def category_pairs(categories: list[str]) -> list[tuple[str, str]]:
    """Every unordered pair ``(a, b)`` with ``a <= b``: the diagonal included."""
    return [(a, b) for i, a in enumerate(categories) for b in categories[i:]]


def cell_layout(query: EvidenceQuery, question: Question) -> CellLayout:
    """The layout every participant computes for ``query``.

    ``category_by_month``: one row per category, one column per month, with totals.
    ``category_pairs``: one row per category, one column per category, upper
    triangle only (cells below the diagonal stay 0 and are not published), no totals.
    """
    if question.shape == "category_by_month":
        months = months_between(query.period_from, query.period_to)
        return CellLayout(
            shape=question.shape,
            rows=query.categories,
            columns=months,
            with_totals=True,
            period=(query.period_from, query.period_to),
        )
    if question.shape == "category_pairs":
        return CellLayout(
            shape=question.shape,
            rows=query.categories,
            columns=query.categories,
            with_totals=False,
            period=(query.period_from, query.period_to),
        )
    raise ValueError(f"questions of shape {question.shape!r} are not computed yet")

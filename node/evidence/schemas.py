"""Request and answer models of the analysts' evidence API (``/evidence/...``)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from federation.evidence import MONTH_PATTERN, SLUG_PATTERN

Shown = Literal["count", "suppressed", "suppressed_secondary", "not_applicable"]


class QuestionPublic(BaseModel):
    """A catalogued question, as an analyst chooses it."""

    id: str
    label: str
    description: str
    available: bool = Field(description="False: described, not yet answered by the federation")
    dimensions: list[str]
    reads: list[str] = Field(description="The node tables the question counts from")


class QuestionsPublic(BaseModel):
    data: list[QuestionPublic]
    count: int


class EvidenceRequest(BaseModel):
    """Which question, for which months, and why."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "question": "open_needs_by_category_month",
                    "period_from": "2026-01",
                    "period_to": "2026-12",
                    "purpose": "service_planning",
                }
            ]
        },
    )

    question: str = Field(pattern=SLUG_PATTERN)
    period_from: str = Field(pattern=MONTH_PATTERN, description="First month, YYYY-MM")
    period_to: str = Field(pattern=MONTH_PATTERN, description="Last month, YYYY-MM")
    purpose: str = Field(pattern=SLUG_PATTERN)
    categories: list[str] | None = Field(
        default=None, max_length=64, description="Need categories to count (default: all)"
    )


class CellPublic(BaseModel):
    """One published number: ``value`` is null unless ``shown`` is ``count``."""

    value: int | None
    shown: Shown


class LeftOut(BaseModel):
    org_id: str
    name: str
    why: str


class EvidenceAnswer(BaseModel):
    """Federation-wide totals after disclosure control; no organisation's own numbers."""

    evidence_id: str = Field(description="Traces this answer in every node's audit log")
    question: str
    label: str
    description: str
    purpose: str
    period_from: str
    period_to: str
    rows: list[str]
    row_labels: list[str]
    columns: list[str]
    column_labels: list[str]
    cells: list[list[CellPublic]]
    row_totals: list[CellPublic] | None
    column_totals: list[CellPublic] | None
    total: CellPublic | None
    organisations: list[str] = Field(description="Whose records are counted")
    left_out: list[LeftOut]
    attempts: int
    note: str = Field(description="What the numbers are, in plain words")
    threshold: int
    rounding_base: int

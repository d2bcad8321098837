"""The analysts' evidence page: pick a question and a period, see the protected table.

``GET /ui/evidence`` shows the form; with a question and a period in the query string
it asks the federation (``node.evidence.answers``, the same flow as
``POST /evidence/answers``: policy, secure summation, disclosure control, audit) and
shows the table, with suppressed numbers said in words. The same query string gives
the CSV (``/ui/evidence.csv``) and a one-page printable summary
(``/ui/evidence/summary``) for a strategy meeting. A GET, so an answer can be
bookmarked and printed; it changes nothing but the audit log. Any signed-in staff
member may open the page: the policy decides who gets an answer, and a refusal is
shown as a problem on the page.
"""

from __future__ import annotations

import csv
import io
import re
from typing import Annotated, Any
from urllib.parse import urlencode

import anyio
from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from federation.errors import JoinedUpError
from federation.evidence import MONTH_PATTERN, load_catalogue
from node.evidence.answers import answer_question
from node.evidence.schemas import CellPublic, EvidenceAnswer, EvidenceRequest
from node.federation.dependencies import get_registry
from node.web.dependencies import WebStaff
from node.web.evidence_chart import chart_image
from node.web.pages import HtmlRoute, render

router = APIRouter(route_class=HtmlRoute)
PURPOSES = ("service_planning",)
SHOWN_AS = {
    "suppressed": "Fewer than {threshold}",
    "suppressed_secondary": "Hidden",
    "not_applicable": "",
}

Month = Annotated[str, Query(max_length=7)]


def cell_text(cell: CellPublic | None, threshold: int) -> str:
    """A published number as the page and the CSV say it."""
    if cell is None:
        return ""
    if cell.shown == "count":
        return f"{cell.value:,}" if cell.value is not None else ""
    return SHOWN_AS[cell.shown].format(threshold=threshold)


def _questions() -> list[tuple[str, str]]:
    return [(q.id, q.label) for q in load_catalogue().questions.values() if q.computable]


def _form_errors(question: str, period_from: str, period_to: str) -> dict[str, str]:
    errors: dict[str, str] = {}
    if question not in dict(_questions()):
        errors["question"] = "Choose a question"
    if not re.fullmatch(MONTH_PATTERN, period_from):
        errors["period_from"] = "Enter the first month as a year and month, like 2026-01"
    if not re.fullmatch(MONTH_PATTERN, period_to):
        errors["period_to"] = "Enter the last month as a year and month, like 2026-12"
    elif not errors.get("period_from") and period_from > period_to:
        errors["period_to"] = "The last month must not be before the first"
    return errors


async def _answer(
    request: Request, staff: Any, question: str, period_from: str, period_to: str
) -> tuple[EvidenceAnswer | None, dict[str, str]]:
    errors = _form_errors(question, period_from, period_to)
    if errors:
        return None, errors
    body = EvidenceRequest(
        question=question,
        period_from=period_from,
        period_to=period_to,
        purpose=PURPOSES[0],
    )
    try:
        registry = await get_registry(request)
        answer = await answer_question(
            state=request.app.state, registry=registry, staff=staff, body=body
        )
    except JoinedUpError as exc:
        return None, {"question": _plain(exc)}
    return answer, {}


def _plain(exc: JoinedUpError) -> str:
    if exc.status_code == 403:
        return "You may not ask for evidence: " + exc.message
    if exc.status_code == 503:
        return "The federation could not answer now: " + exc.message
    return "This question cannot be answered: " + exc.message


async def _page(
    request: Request,
    form: dict[str, str],
    answer: EvidenceAnswer | None,
    errors: dict[str, str],
) -> Response:
    chart = await anyio.to_thread.run_sync(chart_image, answer) if answer else None
    return render(
        request,
        "evidence.html",
        {
            "questions": _questions(),
            "form": form,
            "errors": errors,
            "answer": answer,
            "query": urlencode(form),
            "cell_text": cell_text,
            "chart": chart,
        },
        status_code=422 if any(k != "question" for k in errors) else 200,
    )


@router.get("/evidence")
async def show_evidence(
    request: Request,
    staff: WebStaff,
    question: Annotated[str, Query(max_length=64)] = "",
    period_from: Month = "",
    period_to: Month = "",
) -> Response:
    """The evidence form and, once asked, the federation's protected table."""
    form = {"question": question, "period_from": period_from, "period_to": period_to}
    if not any(form.values()):
        return await _page(request, form, None, {})
    answer, errors = await _answer(request, staff, question, period_from, period_to)
    return await _page(request, form, answer, errors)


@router.get("/evidence/summary")
async def show_evidence_summary(
    request: Request,
    staff: WebStaff,
    question: Annotated[str, Query(max_length=64)] = "",
    period_from: Month = "",
    period_to: Month = "",
) -> Response:
    """A one-page printable summary of the answer, for a strategy meeting."""
    form = {"question": question, "period_from": period_from, "period_to": period_to}
    answer, errors = await _answer(request, staff, question, period_from, period_to)
    if answer is None:
        return await _page(request, form, None, errors)
    chart = await anyio.to_thread.run_sync(chart_image, answer)
    return render(
        request,
        "evidence_summary.html",
        {"answer": answer, "cell_text": cell_text, "chart": chart},
    )


def answer_csv(answer: EvidenceAnswer) -> str:
    """The protected table as CSV: one row per category, suppressed cells in words."""
    out = io.StringIO()
    writer = csv.writer(out)
    with_totals = answer.row_totals is not None
    writer.writerow(["Need category", *answer.column_labels, *(["Total"] if with_totals else [])])
    for index, label in enumerate(answer.row_labels):
        row = [cell_text(c, answer.threshold) for c in answer.cells[index]]
        if answer.row_totals is not None:
            row.append(cell_text(answer.row_totals[index], answer.threshold))
        writer.writerow([label, *row])
    if answer.column_totals is not None:
        totals = [cell_text(c, answer.threshold) for c in answer.column_totals]
        writer.writerow(["Total", *totals, cell_text(answer.total, answer.threshold)])
    writer.writerow([])
    writer.writerow([answer.note])
    return out.getvalue()


@router.get("/evidence.csv")
async def download_evidence_csv(
    request: Request,
    staff: WebStaff,
    question: Annotated[str, Query(max_length=64)] = "",
    period_from: Month = "",
    period_to: Month = "",
) -> Response:
    """The answer as a CSV file (the same protected numbers as the page)."""
    form = {"question": question, "period_from": period_from, "period_to": period_to}
    answer, errors = await _answer(request, staff, question, period_from, period_to)
    if answer is None:
        return await _page(request, form, None, errors)
    name = f"evidence-{answer.question}-{answer.period_from}-{answer.period_to}.csv"
    return Response(
        answer_csv(answer),
        media_type="text/csv; charset=utf-8",
        headers={
            "Content-Disposition": f'attachment; filename="{name}"',
            "Cache-Control": "no-store",
        },
    )

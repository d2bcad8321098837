"""Auditor pages: browse, filter and export this node's audit log, verify it, see its head.

Only the ``auditor`` role opens them. Filters travel in the query string so a
filtered page can be bookmarked and the export links carry the same filters; a
filter that cannot be read re-renders the page with a message (422), never a 500.
Verification is a POST (it is expensive, and CSRF-protected like every form) that
recomputes the whole Merkle tree with ``node.audit.verify.verify_log`` and shows
either "intact" or the first entry from which the log can no longer be trusted.

The exports are served here rather than linked to the JSON API because the API
wants a bearer token and the browser holds a cookie; both stream the same bytes
(``node.audit.export``: same columns, canonical JSON Lines that re-verify).

Rows read in words (``node.web.audit_rows``); an emergency entry shows its basis
and written justification. "Who is this?" (a POST, audited by
``node.audit.lookup``) resolves one of this organisation's staff pseudonyms. While
the tamper guard has stopped signing (``node.audit.guard``) the page says so first.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import Response, StreamingResponse
from sqlmodel import Session

from appkit.labels import load_labels
from appkit.pages import SECURITY_HEADERS
from federation.keys import load_retired_keys
from node.audit import queries
from node.audit.dependencies import decide_audit_scope
from node.audit.export import EXPORT_MEDIA_TYPES, export_stream
from node.audit.guard import open_alarm
from node.audit.lookup import StaffIdentity, resolve_staff_pseudonym
from node.audit.models import DECISIONS, KINDS, AuditEntry
from node.audit.queries import AuditScope
from node.audit.schemas import AuditFilter as AuditQuery
from node.audit.service import latest_tree_head
from node.audit.verify import VerificationReport, verify_log
from node.auth.dependencies import StaffPrincipal
from node.db import SessionDep
from node.web.audit_rows import audit_rows
from node.web.dependencies import AuditorWebStaff, CsrfForm
from node.web.pages import HtmlRoute, error_page, render

router = APIRouter(route_class=HtmlRoute)
PAGE_SIZE = 50
MAX_PAGE = 1_000_000
FILTER_KEYS = (
    "since",
    "until",
    "subject",
    "actor_org",
    "actor_staff",
    "purpose",
    "decision",
    "kind",
    "emergency",
)


@dataclass
class AuditFilter:
    """The filters as entered (to re-fill the form) and as parsed (to query)."""

    raw: dict[str, str] = field(default_factory=dict)
    since: dt.datetime | None = None
    until: dt.datetime | None = None
    page: int = 1
    errors: dict[str, str] = field(default_factory=dict)

    def query_string(self, **extra: Any) -> str:
        items = {k: v for k, v in self.raw.items() if v}
        items.update({k: str(v) for k, v in extra.items()})
        return urlencode(items)


def _time(value: str) -> dt.datetime | None:
    """A datetime-local ('2026-11-23T10:30') or ISO value, taken as UTC."""
    parsed = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    return parsed.replace(tzinfo=dt.UTC) if parsed.tzinfo is None else parsed.astimezone(dt.UTC)


def parse_filter(params: Any) -> AuditFilter:
    """Read the filters from the query string; problems go to ``errors``, not exceptions."""
    raw = {key: str(params.get(key, "") or "").strip()[:200] for key in FILTER_KEYS}
    found = AuditFilter(raw=raw)
    for key in ("since", "until"):
        if raw[key]:
            try:
                setattr(found, key, _time(raw[key]))
            except ValueError:
                found.errors[key] = "Enter a date and time, e.g. 2026-11-23 09:30."
    if found.since and found.until and found.since > found.until:
        found.errors["until"] = "The end of the range must be after its start."
    if raw["purpose"] and raw["purpose"] not in dict(load_labels().options("purposes")):
        found.errors["purpose"] = "Choose a purpose from the list."
    if raw["decision"] and raw["decision"] not in DECISIONS:
        found.errors["decision"] = "Choose a decision from the list."
    if raw["kind"] and raw["kind"] not in KINDS:
        found.errors["kind"] = "Choose a kind of entry from the list."
    if raw["emergency"] not in ("", "yes", "no"):
        found.errors["emergency"] = "Choose any, yes or no."
    page = str(params.get("page", "1") or "1")
    if page.isdigit() and 1 <= int(page) <= MAX_PAGE:
        found.page = int(page)
    else:
        found.errors["page"] = "That page number does not exist."
    return found


def service_filter(found: AuditFilter) -> AuditQuery:
    """The filters in the shape ``node.audit.queries`` takes (only once they parsed)."""
    raw = found.raw
    return AuditQuery(
        since=found.since,
        until=found.until,
        subject_id=raw["subject"] or None,
        actor_org=raw["actor_org"] or None,
        actor_staff=raw["actor_staff"] or None,
        purpose=raw["purpose"] or None,
        decision=raw["decision"] or None,
        kind=raw["kind"] or None,
        emergency=None if not raw["emergency"] else raw["emergency"] == "yes",
    )


def reader_scope(request: Request, staff: StaffPrincipal, query: AuditQuery) -> AuditScope:
    """What the audit policy (``joinedup.audit``) lets this auditor read; 403 otherwise."""
    return decide_audit_scope(
        request,
        reader={"kind": "staff", "org_id": staff.org_id, "role": staff.role, "subject_id": None},
        subject_id=query.subject_id,
        request_id=None,
    )


def member_names(request: Request) -> dict[str, str]:
    """Organisation names by id: the registry's members, and this node's own name."""
    holder = getattr(request.app.state, "registry", None)
    names = {m.org_id: m.name for m in holder.current().members} if holder else {}
    settings = request.app.state.settings
    names.setdefault(settings.org_id, getattr(settings, "org_name", "") or settings.org_id)
    return names


def _page(
    request: Request,
    session: Session,
    staff: StaffPrincipal,
    found: AuditFilter,
    report: VerificationReport | None = None,
    looked_up: StaffIdentity | None = None,
    looked_up_missing: bool = False,
) -> Response:
    entries: list[AuditEntry] = []
    count = 0
    if not found.errors:
        query = service_filter(found)
        entries, count = queries.list_entries(
            session=session,
            filters=query,
            scope=reader_scope(request, staff, query),
            offset=(found.page - 1) * PAGE_SIZE,
            limit=PAGE_SIZE,
        )
    resolved = {looked_up.pseudonym: looked_up.display_name} if looked_up else {}
    rows = audit_rows(
        entries,
        labels=load_labels(),
        names=member_names(request),
        own_org=request.app.state.settings.org_id,
        resolved=resolved,
    )
    return render(
        request,
        "audit.html",
        {
            "filter": found,
            "entries": rows,
            "alarm": open_alarm(session),
            "looked_up": looked_up,
            "looked_up_missing": looked_up_missing,
            "count": count,
            "pages": max(1, -(-count // PAGE_SIZE)),
            "head": latest_tree_head(session),
            "report": report,
            "decisions": DECISIONS,
            "kinds": KINDS,
        },
        status_code=422 if found.errors else 200,
    )


@router.get("/audit")
def show_audit_log(request: Request, session: SessionDep, staff: AuditorWebStaff) -> Response:
    """The audit log, filtered and paginated, with the latest signed tree head."""
    return _page(request, session, staff, parse_filter(request.query_params))


@router.post("/audit/verify")
def verify_audit_log(
    request: Request, session: SessionDep, staff: AuditorWebStaff, form: CsrfForm
) -> Response:
    """Recompute the whole log and show whether it is intact, or where it breaks."""
    keys = request.app.state.keys
    report = verify_log(
        connection=session.connection(),
        verify_keys=[keys.verify_key],
        org_id=request.app.state.settings.org_id,
    )
    return _page(request, session, staff, parse_filter(request.query_params), report=report)


@router.post("/audit/who")
def resolve_staff(
    request: Request, session: SessionDep, staff: AuditorWebStaff, form: CsrfForm
) -> Response:
    """Who is this? Name the staff member behind one of our pseudonyms (audited)."""
    pseudonym = str(form.get("pseudonym", "") or "").strip()[:128]
    found = parse_filter(request.query_params)
    if not pseudonym:
        found.errors["pseudonym"] = "Choose a staff member's entry to look up."
        return _page(request, session, staff, found)
    state = request.app.state
    identity = resolve_staff_pseudonym(
        session=session,
        keys=[state.keys, *load_retired_keys(state.settings.data_dir)],
        org_id=state.settings.org_id,
        auditor=staff,
        pseudonym=pseudonym,
        request_id=getattr(request.state, "request_id", "") or f"who-{pseudonym[:16]}",
    )
    return _page(
        request, session, staff, found, looked_up=identity, looked_up_missing=identity is None
    )


@router.get("/audit/export.{fmt}")
def export_audit_log(
    request: Request, session: SessionDep, staff: AuditorWebStaff, fmt: str
) -> Response:
    """The filtered entries as CSV or JSON Lines (oldest first): the API's export."""
    found = parse_filter(request.query_params)
    if found.errors:
        return _page(request, session, staff, found)
    if fmt not in EXPORT_MEDIA_TYPES:
        return _not_found(request)
    query = service_filter(found)
    scope = reader_scope(request, staff, query)
    body = export_stream(request.app.state.engine, filters=query, scope=scope, fmt=fmt)
    org = request.app.state.settings.org_id
    headers = {
        **SECURITY_HEADERS,
        "Content-Disposition": f'attachment; filename="audit-{org}.{fmt}"',
    }
    return StreamingResponse(body, media_type=EXPORT_MEDIA_TYPES[fmt], headers=headers)


def _not_found(request: Request) -> Response:
    return error_page(request, 404, "Exports come as .csv or .jsonl.")

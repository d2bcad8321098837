"""The "who accessed my data" page: the customer's access report, in plain language.

DESIGN "Audit": a customer's access report is assembled across the nodes through
the federation, each entry with an inclusion proof against that node's signed tree
head, so the customer can check their entries are in the log without seeing anyone
else's. This page shows, per access: which organisation, when, for what purpose,
what was released, whether it was an emergency, and whether the proof checked —
grouped by organisation and day (London time), each day collapsible, so that it
reads on a phone without sideways scrolling.

The report is built by the access-report flow (``consent.portal.flows``), which
the lifespan installs on ``app.state.access_report``: an async callable taking the
app and the subject id and returning an ``AccessReport`` (entries plus the
organisations whose part could not be fetched). Without it (a registry-less demo)
or when it fails, the page says the report cannot be put together rather than
showing an empty, falsely reassuring list; when some organisations did not answer,
it names them and says the report is incomplete.
"""

from __future__ import annotations

import datetime as dt
import inspect
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import httpx
from fastapi import APIRouter, Request
from fastapi.responses import Response

from consent.portal.dependencies import PortalCustomer
from consent.portal.flows import AccessReport
from consent.portal.pages import PortalRoute, long_date, render
from consent.portal.wording import EMERGENCY_BASES
from federation.errors import JoinedUpError

router = APIRouter(route_class=PortalRoute)
log = logging.getLogger("joinedup.consent.portal")

# Why an organisation's part is missing, in the customer's words.
MISSING_REASONS = {
    "unavailable": "it did not answer in time",
    "refused": "it refused to answer",
    "invalid": "its answer failed our checks, so nothing from it is shown",
}


@dataclass(frozen=True)
class AccessEntry:
    """One access to the customer's records, as the portal shows it."""

    org_id: str
    org_name: str
    at: dt.datetime | None
    purpose: str
    categories: list[str] = field(default_factory=list)
    decision: str = "allow"
    emergency: bool = False
    emergency_basis: str = ""
    proof_ok: bool | None = None
    request_id: str = ""
    kind: str = ""
    holder_name: str = ""
    logged_by_name: str = ""

    @property
    def emergency_why(self) -> str:
        """The emergency basis in plain words ("" when the entry does not name one)."""
        if not self.emergency_basis:
            return ""
        plain = self.emergency_basis.replace("_", " ")
        return EMERGENCY_BASES.get(self.emergency_basis, f"on the basis of {plain}")

    @property
    def what_happened(self) -> str:
        """One plain sentence whose subject is the organisation in the first column."""
        refused = self.decision == "deny"
        if self.kind == "view_requested":
            suffix = "; nothing was shown" if refused else ""
            return f"Asked for a joined-up view of your records{suffix}"
        if self.kind == "share_decided":
            holder = self.holder_name or "another organisation"
            if self.holder_name and self.holder_name == self.org_name:
                if refused:
                    return "Did not use its own records about you in the view"
                return "Used its own records about you in the view"
            if refused:
                return f"Asked {holder} for your records and was refused"
            return f"Was sent your records held by {holder}"
        if self.kind == "referral":
            return "Made a referral about you"
        if self.kind == "consent_check":
            return "Checked which consents you have given"
        if self.kind == "link":
            return f"Matched your records held by {self.logged_by_name or 'a member'}"
        if self.kind == "revocation_received":
            member = self.logged_by_name or "a member"
            return f"Told {member} that you withdrew or narrowed a consent"
        if self.kind == "admin_change":
            return "Changed an administrative setting about you"
        if self.kind == "customer_notice":
            if self.decision == "error":
                return "Tried to tell you about its emergency access, but the notice was lost"
            return "Told you about its emergency access to your records"
        return self.kind.replace("_", " ").capitalize()


@dataclass(frozen=True)
class AccessDay:
    """One organisation's entries on one day (London), newest first, as one collapsible group."""

    day: str
    entries: list[tuple[int, AccessEntry]]

    @property
    def emergency(self) -> bool:
        return any(e.emergency for _, e in self.entries)

    @property
    def proof_failed(self) -> bool:
        return any(e.proof_ok is False for _, e in self.entries)


@dataclass(frozen=True)
class AccessOrg:
    """Every entry an organisation recorded, grouped by day: one heading per organisation."""

    org_id: str
    org_name: str
    days: list[AccessDay]

    @property
    def count(self) -> int:
        return sum(len(d.entries) for d in self.days)


def group_entries(entries: list[AccessEntry]) -> list[AccessOrg]:
    """Group newest-first entries by organisation (newest activity first), then by day.

    A phone cannot show seven columns: the page reads organisation by organisation, a
    day per collapsible group, instead of one long table (issue 11 item 13). Each
    entry keeps its place in the newest-first list as its number.
    """
    orgs: dict[str, dict[str, list[tuple[int, AccessEntry]]]] = {}
    names: dict[str, str] = {}
    for number, entry in enumerate(entries, start=1):
        day = long_date(entry.at) if entry.at else "Date not recorded"
        orgs.setdefault(entry.org_id, {}).setdefault(day, []).append((number, entry))
        names.setdefault(entry.org_id, entry.org_name)
    return [
        AccessOrg(org, names[org], [AccessDay(day, items) for day, items in days.items()])
        for org, days in orgs.items()
    ]


@dataclass(frozen=True)
class MissingOrg:
    """An organisation whose part of the report is missing, for the page."""

    org_id: str
    org_name: str
    status: str
    reason: str


def _time(value: Any) -> dt.datetime | None:
    if isinstance(value, dt.datetime):
        return value
    if isinstance(value, int | float):
        return dt.datetime.fromtimestamp(value / 1000 if value > 1e11 else value, dt.UTC)
    if isinstance(value, str):
        try:
            return dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return None
    return None


def to_entry(item: Any, names: Mapping[str, str]) -> AccessEntry:
    """Read one report item (a mapping or a pydantic model) defensively."""
    data: Mapping[str, Any] = item.model_dump() if hasattr(item, "model_dump") else item
    org = str(data.get("org_id") or data.get("holder_org") or data.get("actor_org") or "")
    proof = data.get("proof_ok", data.get("proof_verified", data.get("included")))
    holder = str(data.get("holder_org") or "")
    logged_by = str(data.get("logged_by") or "")
    return AccessEntry(
        org_id=org,
        org_name=str(data.get("org_name") or names.get(org, org)),
        at=_time(data.get("at") or data.get("recorded_at")),
        purpose=str(data.get("purpose") or ""),
        categories=[str(c) for c in data.get("categories") or []],
        decision=str(data.get("decision") or "allow"),
        emergency=bool(data.get("emergency")),
        emergency_basis=str(data.get("emergency_basis") or ""),
        proof_ok=proof if isinstance(proof, bool) else None,
        request_id=str(data.get("request_id") or ""),
        kind=str(data.get("kind") or ""),
        holder_name=names.get(holder, holder),
        logged_by_name=names.get(logged_by, logged_by),
    )


def member_names(request: Request) -> dict[str, str]:
    """Every member's display name, the consent service's included (it pushes revocations)."""
    holder = getattr(request.app.state, "registry", None)
    if holder is None:
        return {}
    return {m.org_id: m.name for m in holder.current().members}


async def _fetch_report(request: Request, subject_id: str) -> AccessReport | None:
    provider = getattr(request.app.state, "access_report", None)
    if provider is None:
        return None
    try:
        result = provider(request.app, subject_id)
        report = await result if inspect.isawaitable(result) else result
    except (JoinedUpError, httpx.HTTPError) as exc:
        log.warning("access report failed", extra={"exc_type": type(exc).__name__})
        return None
    return report if isinstance(report, AccessReport) else None


@router.get("/access")
async def show_access_report(request: Request, customer: PortalCustomer) -> Response:
    """Who saw the customer's records, when, why, and which organisations did not answer."""
    report = await _fetch_report(request, customer.subject_id)
    entries: list[AccessEntry] | None = None
    missing: list[MissingOrg] = []
    truncated: list[str] = []
    if report is not None:
        names = member_names(request)
        entries = [to_entry(item, names) for item in report.entries]
        entries.sort(key=lambda e: e.at or dt.datetime.min.replace(tzinfo=dt.UTC), reverse=True)
        missing = [
            MissingOrg(m.org_id, names.get(m.org_id, m.org_id), m.status, MISSING_REASONS[m.status])
            for m in sorted(report.missing, key=lambda m: names.get(m.org_id, m.org_id))
        ]
        truncated = sorted(names.get(org, org) for org in report.truncated)
    groups = group_entries(entries) if entries is not None else []
    page = {"entries": entries, "groups": groups, "missing": missing, "truncated": truncated}
    return render(request, "access.html", page)

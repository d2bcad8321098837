"""The "who accessed my data" page: the customer's access report, in plain language.

DESIGN "Audit": a customer's access report is assembled across the nodes through
the federation, each entry with an inclusion proof against that node's signed tree
head, so the customer can check their entries are in the log without seeing anyone
else's. This page shows, per access: which organisation, when, for what purpose,
what was released, whether it was an emergency, and whether the proof checked.

The report itself is built by the consent service's access-report flow; until that
flow is installed on ``app.state.access_report`` (an async callable taking the app
and the subject id and returning ``AccessEntry``-shaped mappings) the page says so
rather than showing an empty, falsely reassuring list.
"""

from __future__ import annotations

import datetime as dt
import inspect
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from consent.portal.consents import org_names
from consent.portal.dependencies import PortalCustomer
from consent.portal.pages import PortalRoute, render

router = APIRouter(route_class=PortalRoute)


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
    proof_ok: bool | None = None
    request_id: str = ""


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
    return AccessEntry(
        org_id=org,
        org_name=str(data.get("org_name") or names.get(org, org)),
        at=_time(data.get("at") or data.get("recorded_at")),
        purpose=str(data.get("purpose") or ""),
        categories=[str(c) for c in data.get("categories") or []],
        decision=str(data.get("decision") or "allow"),
        emergency=bool(data.get("emergency")),
        proof_ok=proof if isinstance(proof, bool) else None,
        request_id=str(data.get("request_id") or ""),
    )


@router.get("/access")
async def show_access_report(request: Request, customer: PortalCustomer) -> Response:
    """Who saw the customer's records, when, why, and whether each entry's proof checked."""
    provider = getattr(request.app.state, "access_report", None)
    entries: list[AccessEntry] | None = None
    if provider is not None:
        result = provider(request.app, customer.subject_id)
        items = await result if inspect.isawaitable(result) else result
        names = org_names(request)
        entries = [to_entry(item, names) for item in items]
        entries.sort(key=lambda e: e.at or dt.datetime.min.replace(tzinfo=dt.UTC), reverse=True)
    return render(request, "access.html", {"entries": entries})

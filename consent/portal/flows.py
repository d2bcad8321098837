"""The consent service's access-report flow: a customer's audit entries from every node.

DESIGN "Audit": a customer's access report is assembled across the nodes through
the federation. For a signed-in customer the consent service signs one
``audit_subject_report`` request per member organisation (``federation.envelope``,
its own Ed25519 key; nodes refuse the action from anyone but the registry's
consent service), each node answers with that subject's entries only, sealed to
the service's X25519 key, and every entry is checked against the node's signed
tree head with its inclusion proof (RFC 9162 §2.1.3) by
``federation.tree_head.subject_access_report`` before it is kept.

A node that does not answer within the deadline, refuses, or sends an answer that
fails a check contributes no entries and is named in ``AccessReport.missing``, so the
page can say the report is incomplete instead of looking complete.

The lifespan in ``consent.main`` installs ``report_for_app`` on
``app.state.access_report``; it reads the one shared ``httpx.AsyncClient``, the
keys and the current registry from ``app.state`` at each call.
"""

from __future__ import annotations

from typing import Any

from federation.errors import JoinedUpError
from federation.registry import CONSENT_SERVICE_ID
from federation.tree_head import AccessReport, MissingPart, subject_access_report

__all__ = ["AccessReport", "AccessReportUnavailable", "MissingPart", "report_for_app"]


class AccessReportUnavailable(JoinedUpError):
    """No report can be assembled at all (no registry: a registry-less demo)."""

    status_code = 503
    title = "Service unavailable"
    type_slug = "service-unavailable"


async def report_for_app(app: Any, subject_id: str) -> AccessReport:
    """The report for the page, from what the lifespan put on ``app.state``."""
    state = app.state
    holder = getattr(state, "registry", None)
    if holder is None:
        raise AccessReportUnavailable("no member registry: there is no one to ask")
    return await subject_access_report(
        client=state.http,
        registry=holder.current(),
        keys=state.keys,
        me=CONSENT_SERVICE_ID,
        subject_id=subject_id,
        deadline_s=state.settings.access_report_deadline_s,
    )

"""Cross-node audit workflows: answering partners' audit queries, tracing a request.

A request id names one joined-up view; every node it touched logged its part. To
trace it (DESIGN "Audit"), the auditor's node asks every member through the signed
protocol (``federation.envelope``: a signed ``audit_trace`` request, a sealed and
signed answer). Each answering node lets the policy ``joinedup.audit`` decide
(reader kind ``partner``: one request id, only entries concerning the asking
organisation) and returns its entries with inclusion proofs against its latest
signed tree head, so the asker checks every entry with ``federation.tree_head``
alone and never has to trust the answering node's word.

The consent service assembles a customer's access report the same way with
``audit_subject_report`` (reader kind ``customer``: that subject's entries only).
"""

from __future__ import annotations

import httpx
from fastapi import Request
from pydantic import BaseModel
from sqlmodel import Session

from federation.envelope import VerifiedRequest
from federation.errors import NotPermitted
from federation.keys import MemberKeys
from federation.registry import Registry
from federation.tree_head import (
    SUBJECT_REPORT_ACTION,
    TRACE_ACTION,
    ProvenSection,
    collect_proven_entries,
)
from federation.wire.audit import AuditSubjectReport, AuditTrace
from node.audit.dependencies import decide_audit_scope
from node.audit.queries import AuditScope, entries_with_proofs
from node.audit.schemas import AuditFilter, ProvenEntries

__all__ = [
    "SUBJECT_REPORT_ACTION",
    "TRACE_ACTION",
    "TraceReport",
    "answer_subject_report",
    "answer_trace",
    "trace_request",
]

MAX_ENTRIES = 1000


def answer_trace(*, request: Request, session: Session, verified: VerifiedRequest) -> ProvenEntries:
    """A partner's auditor asks which of our entries for one request id concern them."""
    trace = AuditTrace.from_body(verified.body)
    role = trace.staff_role
    scope = decide_audit_scope(
        request,
        reader={"kind": "partner", "org_id": verified.issuer, "role": role, "subject_id": None},
        request_id=trace.request_id,
    )
    if "request_id" not in scope.forced:
        raise NotPermitted("a partner may only trace a single request id")
    return _prove(
        request,
        session,
        AuditScope(forced=scope.forced, concerning_org=verified.issuer),
    )


def answer_subject_report(
    *, request: Request, session: Session, verified: VerifiedRequest, registry: Registry
) -> ProvenEntries:
    """The consent service asks, for a signed-in customer, every entry about them."""
    if verified.issuer != registry.consent_service.org_id:
        raise NotPermitted("only the consent service may ask for a customer's access report")
    subject = AuditSubjectReport.from_body(verified.body).subject_id
    scope = decide_audit_scope(
        request,
        reader={"kind": "customer", "org_id": None, "role": None, "subject_id": subject},
        subject_id=subject,
    )
    if scope.forced.get("subject_id") != subject:
        raise NotPermitted("a customer report must be scoped to that customer")
    # Past MAX_ENTRIES a customer is best served by the most recent accesses.
    return _prove(request, session, scope, newest_first=True)


def _prove(
    request: Request, session: Session, scope: AuditScope, *, newest_first: bool = False
) -> ProvenEntries:
    state = request.app.state
    return entries_with_proofs(
        session=session,
        org_id=state.settings.org_id,
        filters=AuditFilter(),
        scope=scope,
        keys=state.keys,
        limit=MAX_ENTRIES,
        newest_first=newest_first,
    )


# -- the asking side --------------------------------------------------------------------


class TraceReport(BaseModel):
    """Every entry, across the federation, recorded under one request id."""

    request_id: str
    sections: list[ProvenSection]


def local_section(local: ProvenEntries, me: str) -> ProvenSection:
    """This node's own part of a trace (its entries come with proofs too)."""
    return ProvenSection(
        org_id=me,
        status="ok",
        tree_size=local.tree_head.tree_size if local.tree_head else None,
        entries=[p.entry for p in local.entries],
    )


async def trace_request(
    *,
    client: httpx.AsyncClient,
    registry: Registry,
    keys: MemberKeys,
    me: str,
    traced_id: str,
    staff_role: str,
    local: ProvenEntries,
    deadline_s: float,
) -> TraceReport:
    """Ask every other organisation for its entries under ``traced_id``; verify them all."""
    remote = await collect_proven_entries(
        client=client,
        registry=registry,
        keys=keys,
        me=me,
        message=AuditTrace(request_id=traced_id, staff_role=staff_role),
        deadline_s=deadline_s,
        exclude=frozenset({me}),
    )
    for section in remote:
        # An entry under another request id proves nothing about this one: drop it.
        section.entries = [e for e in section.entries if e.get("request_id") == traced_id]
    return TraceReport(request_id=traced_id, sections=[local_section(local, me), *remote])

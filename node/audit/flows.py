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

import asyncio
import logging
from typing import Any, Literal

import anyio
import httpx
from fastapi import Request
from pydantic import BaseModel, Field
from sqlmodel import Session

from federation.envelope import VerifiedRequest, new_request_id, open_response, sign_request
from federation.errors import NotPermitted, ValidationFailed
from federation.keys import MemberKeys
from federation.registry import Registry
from federation.tree_head import check_proven_entries
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

log = logging.getLogger("joinedup.node.audit")
TRACE_ACTION = "audit_trace"
SUBJECT_REPORT_ACTION = "audit_subject_report"
MAX_ENTRIES = 1000


def _text(body: dict[str, Any], key: str, max_length: int = 128) -> str | None:
    value = body.get(key)
    if value is None:
        return None
    if not isinstance(value, str) or not value or len(value) > max_length:
        raise ValidationFailed(f"{key} must be a non-empty string of at most {max_length}")
    return value


def answer_trace(*, request: Request, session: Session, verified: VerifiedRequest) -> ProvenEntries:
    """A partner's auditor asks which of our entries for one request id concern them."""
    traced = _text(verified.body, "request_id")
    role = _text(verified.body, "staff_role", 32)
    scope = decide_audit_scope(
        request,
        reader={"kind": "partner", "org_id": verified.issuer, "role": role, "subject_id": None},
        request_id=traced,
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
    subject = _text(verified.body, "subject_id")
    scope = decide_audit_scope(
        request,
        reader={"kind": "customer", "org_id": None, "role": None, "subject_id": subject},
        subject_id=subject,
    )
    if scope.forced.get("subject_id") != subject:
        raise NotPermitted("a customer report must be scoped to that customer")
    return _prove(request, session, scope)


def _prove(request: Request, session: Session, scope: AuditScope) -> ProvenEntries:
    state = request.app.state
    return entries_with_proofs(
        session=session,
        org_id=state.settings.org_id,
        filters=AuditFilter(),
        scope=scope,
        keys=state.keys,
        limit=MAX_ENTRIES,
    )


# -- the asking side --------------------------------------------------------------------


class TraceSection(BaseModel):
    """One node's part of a trace: its verified entries, or why there are none."""

    org_id: str
    status: Literal["ok", "refused", "unavailable", "invalid"]
    detail: str | None = None
    tree_size: int | None = Field(default=None, description="signed head the proofs used")
    entries: list[dict[str, Any]] = Field(default_factory=list)


class TraceReport(BaseModel):
    """Every entry, across the federation, recorded under one request id."""

    request_id: str
    sections: list[TraceSection]


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
    partners = [m for m in registry.organisations() if m.org_id != me]
    sections = [_local_section(local, me, registry)]
    sections += await asyncio.gather(
        *[
            _ask(
                client, registry, keys, me, m.org_id, m.base_url, traced_id, staff_role, deadline_s
            )
            for m in partners
        ]
    )
    return TraceReport(request_id=traced_id, sections=sections)


def _local_section(local: ProvenEntries, me: str, registry: Registry) -> TraceSection:
    return TraceSection(
        org_id=me,
        status="ok",
        tree_size=local.tree_head.tree_size if local.tree_head else None,
        entries=[p.entry for p in local.entries],
    )


async def _ask(
    client: httpx.AsyncClient,
    registry: Registry,
    keys: MemberKeys,
    me: str,
    org_id: str,
    base_url: str,
    traced_id: str,
    staff_role: str,
    deadline_s: float,
) -> TraceSection:
    jti = new_request_id()
    token = sign_request(
        keys=keys,
        issuer=me,
        audience=org_id,
        action=TRACE_ACTION,
        body={"request_id": traced_id, "staff_role": staff_role},
        request_id=jti,
    )
    url = base_url.rstrip("/") + "/federation/audit/trace"
    try:
        response = await asyncio.wait_for(
            client.post(url, json={"request": token}, timeout=deadline_s), timeout=deadline_s
        )
    except (TimeoutError, httpx.HTTPError):
        return TraceSection(org_id=org_id, status="unavailable", detail="no answer in time")
    if response.status_code != 200:
        return TraceSection(
            org_id=org_id, status="refused", detail=f"answered {response.status_code}"
        )
    try:
        body = open_response(
            str(response.json()["response"]),
            registry=registry,
            keys=keys,
            me=me,
            expected_issuer=org_id,
            request_id=jti,
        )
        entries = await anyio.to_thread.run_sync(
            lambda: check_proven_entries(body, registry.verify_keys(org_id), org_id=org_id)
        )
    except Exception as exc:  # a partner's answer is never trusted, never shown unchecked
        log.warning("audit trace answer rejected", extra={"org": org_id, "exc": type(exc).__name__})
        return TraceSection(org_id=org_id, status="invalid", detail="answer failed its checks")
    head = body.get("tree_head") or {}
    return TraceSection(
        org_id=org_id, status="ok", tree_size=head.get("tree_size"), entries=entries
    )

"""The auditor API under ``/audit`` (staff bearer tokens; policy ``joinedup.audit``).

Tree heads and proofs are public: they reveal only sizes and hashes, and partners,
auditors and customers must be able to fetch them to hold the node to its log
(RFC 9162 §4.10–4.12 publish the same). Entries, exports and verification need an
auditor whom the audit policy admits.
"""

from __future__ import annotations

from typing import Annotated

import anyio
from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import StreamingResponse
from sqlmodel import Session

from appkit.problems import PROBLEM_RESPONSES
from federation.errors import NotFound, NotPermitted
from federation.keys import load_retired_keys
from federation.tree_head import ConsistencyProof, InclusionProof
from node.audit import queries, service
from node.audit.dependencies import AuditFilterDep, AuditorStaff, StaffAuditScope
from node.audit.export import EXPORT_MEDIA_TYPES, export_stream
from node.audit.flows import TraceReport, local_section, trace_request
from node.audit.queries import AuditScope
from node.audit.schemas import (
    AuditEntriesPublic,
    AuditEntryPublic,
    AuditFilter,
    ProvenEntries,
    TreeHeadPublic,
    TreeHeadsPublic,
)
from node.audit.verify import VerificationReport, verify_log
from node.auth.dependencies import RequireRole, StaffPrincipal
from node.db import SessionDep

SigningStaff = Annotated[StaffPrincipal, Depends(RequireRole("auditor", "admin"))]
router = APIRouter(prefix="/audit", tags=["audit"], responses=PROBLEM_RESPONSES)
MAX_PAGE = 500
MAX_INDEX = 2**53 - 1


@router.get("/entries", response_model=AuditEntriesPublic)
def list_audit_entries(
    session: SessionDep,
    scope: StaffAuditScope,
    filters: AuditFilterDep,
    offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 100,
) -> AuditEntriesPublic:
    """List audit entries, newest first, filtered (auditors of this organisation)."""
    rows, count = queries.list_entries(
        session=session, filters=filters, scope=scope, offset=offset, limit=limit
    )
    return AuditEntriesPublic(data=[AuditEntryPublic.model_validate(r) for r in rows], count=count)


@router.get(
    "/entries.csv",
    response_class=StreamingResponse,
    responses={200: {"content": {"text/csv": {}}, "description": "RFC 4180 CSV"}},
)
def export_audit_csv(
    request: Request, scope: StaffAuditScope, filters: AuditFilterDep
) -> StreamingResponse:
    """Export matching entries as CSV, in log order (auditors of this organisation)."""
    body = export_stream(request.app.state.engine, filters=filters, scope=scope, fmt="csv")
    return StreamingResponse(
        body,
        media_type=EXPORT_MEDIA_TYPES["csv"],
        headers={"Content-Disposition": 'attachment; filename="audit.csv"'},
    )


@router.get(
    "/entries.jsonl",
    response_class=StreamingResponse,
    responses={200: {"content": {"application/jsonl": {}}, "description": "JSON Lines"}},
)
def export_audit_jsonl(
    request: Request, scope: StaffAuditScope, filters: AuditFilterDep
) -> StreamingResponse:
    """Export matching entries as JSON Lines of canonical entries, in log order."""
    body = export_stream(request.app.state.engine, filters=filters, scope=scope, fmt="jsonl")
    return StreamingResponse(
        body,
        media_type=EXPORT_MEDIA_TYPES["jsonl"],
        headers={"Content-Disposition": 'attachment; filename="audit.jsonl"'},
    )


@router.get("/tree-heads", response_model=TreeHeadsPublic)
def list_tree_heads(
    request: Request,
    session: SessionDep,
    offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 100,
) -> TreeHeadsPublic:
    """The latest signed tree head and the history of heads, newest first (public)."""
    latest, data, count = queries.list_tree_heads(
        session=session, org_id=request.app.state.settings.org_id, offset=offset, limit=limit
    )
    return TreeHeadsPublic(latest=latest, data=data, count=count)


@router.get("/tree-heads/latest", response_model=TreeHeadPublic)
def read_latest_tree_head(request: Request, session: SessionDep) -> TreeHeadPublic:
    """The latest signed tree head (public)."""
    head = service.latest_tree_head(session)
    if head is None:
        raise NotFound("no tree head has been signed yet")
    return queries.tree_head_public(head, request.app.state.settings.org_id)


@router.post("/tree-heads", response_model=TreeHeadPublic, status_code=201)
def create_tree_head(request: Request, session: SessionDep, _staff: SigningStaff) -> TreeHeadPublic:
    """Sign a tree head for the log as it is now (auditors and admins)."""
    org_id = request.app.state.settings.org_id
    record = service.sign_tree_head_now(session=session, keys=request.app.state.keys, org_id=org_id)
    return queries.tree_head_public(record, org_id)


@router.get("/proofs/inclusion", response_model=InclusionProof)
def read_inclusion_proof(
    session: SessionDep,
    index: Annotated[int, Query(ge=0, le=MAX_INDEX)],
    tree_size: Annotated[int, Query(ge=1, le=MAX_INDEX)],
) -> InclusionProof:
    """The audit path for leaf ``index`` in the tree of ``tree_size`` (RFC 9162 §2.1.3)."""
    return service.get_inclusion_proof(session=session, index=index, tree_size=tree_size)


@router.get("/proofs/consistency", response_model=ConsistencyProof)
def read_consistency_proof(
    session: SessionDep,
    first: Annotated[int, Query(ge=0, le=MAX_INDEX)],
    second: Annotated[int, Query(ge=0, le=MAX_INDEX)],
) -> ConsistencyProof:
    """Proof that the tree of size ``first`` is a prefix of ``second`` (RFC 9162 §2.1.4)."""
    return service.get_consistency_proof(session=session, first=first, second=second)


@router.post("/verify", response_model=VerificationReport)
def verify_audit_log(
    request: Request, session: SessionDep, staff: AuditorStaff, scope: StaffAuditScope
) -> VerificationReport:
    """Recompute the whole tree and check every signed head (auditors of this organisation)."""
    if scope.forced:
        raise NotPermitted("verification needs a reader allowed the whole log")
    settings = request.app.state.settings
    keys = [request.app.state.keys.verify_key]
    keys += [k.verify_key for k in load_retired_keys(settings.data_dir)]
    return verify_log(connection=session.connection(), verify_keys=keys, org_id=settings.org_id)


def _local_trace(request: Request, traced: str) -> ProvenEntries:
    state = request.app.state
    with Session(state.engine) as session:
        proven = queries.entries_with_proofs(
            session=session,
            org_id=state.settings.org_id,
            filters=AuditFilter(request_id=traced),
            scope=AuditScope(),
            keys=state.keys,
        )
        session.commit()  # a head signed for this trace is kept and published
    return proven


@router.get("/trace/{request_id}", response_model=TraceReport)
async def trace_request_id(
    request: Request,
    request_id: Annotated[str, Path(min_length=8, max_length=128)],
    staff: AuditorStaff,
    scope: StaffAuditScope,
) -> TraceReport:
    """Every entry under one request id, here and at every member, each proof-checked."""
    if scope.forced:
        raise NotPermitted("tracing needs a reader allowed this node's whole log")
    state = request.app.state
    local = await anyio.to_thread.run_sync(_local_trace, request, request_id)
    holder = getattr(state, "registry", None)
    if holder is None:
        me = state.settings.org_id
        return TraceReport(request_id=request_id, sections=[local_section(local, me)])
    return await trace_request(
        client=state.http,
        registry=holder.current(),
        keys=state.keys,
        me=state.settings.org_id,
        traced_id=request_id,
        staff_role=staff.role,
        local=local,
        deadline_s=state.settings.share_deadline_s,
    )

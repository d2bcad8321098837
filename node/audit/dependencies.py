"""Who may read which audit entries: the policy package ``joinedup.audit`` decides.

Each reader — a staff member of this node, a customer (through the consent
service), a partner's auditor tracing a request — is described to the policy as
``{"reader": {...}, "node": {"org_id"}, "query": {"subject_id", "request_id"}}``.
The decision's ``scope`` becomes an ``AuditScope`` of forced filters. Anything the
node does not understand in a scope, and any engine failure, is a refusal: the
audit log fails closed like every other release.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any

from fastapi import Depends, Query, Request

from federation.errors import NotPermitted
from node.audit.queries import AuditScope
from node.audit.schemas import AuditFilter
from node.auth.dependencies import CurrentStaff, RequireRole, StaffPrincipal

__all__ = [
    "AuditFilterDep",
    "AuditorStaff",
    "StaffAuditScope",
    "decide_audit_scope",
    "scope_from_decision",
]

_FORCEABLE = ("subject_id", "request_id")


def scope_from_decision(scope: Mapping[str, Any], node_org: str) -> AuditScope:
    """Translate a policy scope into forced filters; refuse anything unrecognised."""
    forced: dict[str, str] = {}
    for key, value in scope.items():
        if key == "org_id":
            if value != node_org:
                raise NotPermitted("the audit policy scoped this read to another organisation")
        elif key in _FORCEABLE and isinstance(value, str) and value:
            forced[key] = value
        else:
            raise NotPermitted("the audit policy returned a scope this node cannot enforce")
    return AuditScope(forced=forced)


def decide_audit_scope(
    request: Request,
    *,
    reader: dict[str, Any],
    subject_id: str | None = None,
    request_id: str | None = None,
) -> AuditScope:
    """Ask ``joinedup.audit`` whether ``reader`` may read, and in which scope."""
    node_org = request.app.state.settings.org_id
    decision = request.app.state.policy.decide(
        "audit",
        {
            "reader": reader,
            "node": {"org_id": node_org},
            "query": {"subject_id": subject_id, "request_id": request_id},
        },
    )
    if not decision.allow:
        raise NotPermitted("; ".join(decision.reasons) or "the audit policy refused this read")
    return scope_from_decision(decision.scope, node_org)


AuditFilterDep = Annotated[AuditFilter, Query()]


def staff_audit_scope(request: Request, staff: CurrentStaff, filters: AuditFilterDep) -> AuditScope:
    """The scope in which this staff member may read this node's log (403 otherwise)."""
    return decide_audit_scope(
        request,
        reader={
            "kind": "staff",
            "org_id": staff.org_id,
            "role": staff.role,
            "subject_id": None,
        },
        subject_id=filters.subject_id,
        request_id=filters.request_id,
    )


StaffAuditScope = Annotated[AuditScope, Depends(staff_audit_scope)]
AuditorStaff = Annotated[StaffPrincipal, Depends(RequireRole("auditor"))]

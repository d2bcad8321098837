"""``audit_trace`` and ``audit_subject_report``: asking a member for its proven entries.

``POST /federation/audit/trace`` and ``/federation/audit/subject-report``
(docs/protocol.md "Audit trace", "Customer access report"); the asker is
``federation.tree_head.collect_proven_entries``, the answerer ``node.audit.flows``.
A field left out is absent from the scope the answering node's policy decides on.
"""

from __future__ import annotations

from typing import Annotated, ClassVar

from pydantic import ConfigDict, StringConstraints

from federation.wire import WireMessage

Text = Annotated[str, StringConstraints(min_length=1, max_length=128)]


class AuditTrace(WireMessage):
    """A partner's auditor asks for the entries under one request id that concern them."""

    action: ClassVar[str] = "audit_trace"
    model_config = ConfigDict(extra="ignore")

    request_id: Text | None = None
    staff_role: Annotated[str, StringConstraints(min_length=1, max_length=32)] | None = None


class AuditSubjectReport(WireMessage):
    """The consent service asks, for a signed-in customer, every entry about them."""

    action: ClassVar[str] = "audit_subject_report"
    model_config = ConfigDict(extra="ignore")

    subject_id: Text | None = None

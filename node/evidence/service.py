"""The answering side of an evidence query: decide and join (round 1), count and mask (round 2).

Both run in the partner request's own transaction and end with the audit entry
(``record_audit`` last), so a join or a contribution is never sent without its
record. A refusal is an answer (``joined: false`` with the policy's reasons), not an
error, so the refusal's audit entry commits too.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from nacl.public import PublicKey
from sqlmodel import Session

from federation.envelope import VerifiedRequest, seal_response
from federation.errors import Conflict, NotPermitted
from federation.evidence import EvidenceQuery, Question, cell_layout, load_catalogue
from federation.keys import MemberKeys
from federation.registry import Registry
from federation.secure_sum import masked_vector
from federation.wire.evidence import (
    AggregateContribute,
    AggregateContribution,
    AggregateJoin,
    AggregateJoined,
)
from node.audit.service import record_audit
from node.db import utcnow
from node.evidence.counting import count_cells
from node.evidence.models import EvidenceParticipation
from node.policy import PolicyDecision, PolicyEngine

_participation: sa.Table = EvidenceParticipation.__table__  # type: ignore[attr-defined]


@dataclass(frozen=True)
class Answering:
    """This node, as it answers: its id, kind and keys."""

    org_id: str
    org_kind: str
    keys: MemberKeys


def query_digest(query: EvidenceQuery) -> str:
    """A stable digest of what is asked: round 2 must ask exactly what round 1 did."""
    text = json.dumps(query.model_dump(mode="json"), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


def catalogued_question(question_id: str) -> Question | None:
    return load_catalogue().question(question_id)


def aggregate_policy_input(
    *,
    requester_org: str,
    requester_kind: str,
    role: str,
    staff: str,
    holder_org: str,
    holder_kind: str,
    query: EvidenceQuery,
) -> dict[str, Any]:
    """The ``joinedup.aggregate`` input (shape in ``policies/aggregate/aggregate.rego``)."""
    question = catalogued_question(query.question)
    return {
        "requester": {
            "org_id": requester_org,
            "org_kind": requester_kind,
            "role": role,
            "staff": staff,
        },
        "holder": {"org_id": holder_org, "org_kind": holder_kind},
        "purpose": query.purpose,
        "question": query.question,
        "question_available": bool(question and question.computable),
    }


def describe(query: EvidenceQuery, query_id: str | None = None) -> str:
    """The audit reason's description of a query (no counts, no personal data)."""
    text = f"{query.question} for {query.purpose}, {query.period_from} to {query.period_to}"
    return f"{text}, query {query_id}" if query_id else text


def decide_join(
    *,
    session: Session,
    verified: VerifiedRequest,
    body: AggregateJoin,
    registry: Registry,
    policy: PolicyEngine,
    me: Answering,
) -> AggregateJoined:
    """Round 1 at a holder: the policy decides; a yes is remembered; both are audited."""
    decision: PolicyDecision = policy.decide(
        "aggregate",
        aggregate_policy_input(
            requester_org=verified.issuer,
            requester_kind=registry.member(verified.issuer).kind,
            role=body.requester_role,
            staff=body.requester_staff,
            holder_org=me.org_id,
            holder_kind=me.org_kind,
            query=body.query,
        ),
    )
    if decision.allow:
        if session.get(EvidenceParticipation, body.query_id) is not None:
            raise Conflict("this query id has been joined already")
        session.add(
            EvidenceParticipation(
                query_id=body.query_id,
                evidence_id=body.evidence_id,
                requester_org=verified.issuer,
                question=body.query.question,
                query_digest=query_digest(body.query),
            )
        )
        session.flush()
    record_audit(
        session=session,
        kind="aggregate_decided",
        request_id=body.evidence_id,
        actor_org=verified.issuer,
        actor_staff=body.requester_staff,
        actor_role=body.requester_role,
        purpose=body.query.purpose,
        action="aggregate_join",
        decision="allow" if decision.allow else "deny",
        reason=f"{describe(body.query, body.query_id)}: " + "; ".join(decision.reasons),
        holder_org=me.org_id,
    )
    return AggregateJoined(query_id=body.query_id, joined=decision.allow, reasons=decision.reasons)


def participant_keys(registry: Registry, participants: list[str]) -> dict[str, PublicKey]:
    """Every participant's X25519 key from the registry; each must hold records."""
    organisations = {m.org_id for m in registry.organisations()}
    unknown = [p for p in participants if p not in organisations]
    if unknown:
        raise NotPermitted(f"not organisations of this federation: {', '.join(unknown)}")
    return {p: registry.public_key(p) for p in participants}


def _joined(session: Session, body: AggregateContribute, requester: str) -> EvidenceParticipation:
    row = session.get(EvidenceParticipation, body.query_id)
    if row is None or row.requester_org != requester:
        raise Conflict("this node has not joined that query")
    if row.query_digest != query_digest(body.query):
        raise Conflict("round 2 asks something other than what was joined")
    if row.contributed_at is not None:
        raise Conflict("this node has contributed to that query already")
    return row


def _claim(session: Session, query_id: str, now: dt.datetime) -> None:
    """Mark the query contributed; exactly once, whichever process gets there first."""
    claimed = session.execute(
        sa.update(_participation)
        .where(_participation.c.query_id == query_id, _participation.c.contributed_at.is_(None))
        .values(contributed_at=now)
    )
    if claimed.rowcount != 1:  # type: ignore[attr-defined]
        raise Conflict("this node has contributed to that query already")


def contribute(
    *,
    session: Session,
    verified: VerifiedRequest,
    body: AggregateContribute,
    registry: Registry,
    me: Answering,
) -> str:
    """Round 2 at a holder: count, mask for the fixed participants, seal, audit."""
    if me.org_id not in body.participants or verified.issuer not in body.participants:
        raise NotPermitted("the participant set must include this node and the requester")
    keys: Mapping[str, PublicKey] = participant_keys(registry, body.participants)
    row = _joined(session, body, verified.issuer)
    question = catalogued_question(body.query.question)
    if question is None or not question.computable:
        raise Conflict("this question cannot be computed here")
    layout = cell_layout(body.query, question)
    counts = count_cells(session=session, layout=layout)
    masked = masked_vector(
        counts,
        me=me.org_id,
        my_key=me.keys.encryption_key,
        participants=keys,
        query_id=body.query_id,
    )
    _claim(session, body.query_id, utcnow())
    record_audit(
        session=session,
        kind="aggregate_contributed",
        request_id=row.evidence_id,
        actor_org=verified.issuer,
        purpose=body.query.purpose,
        action="aggregate_contribute",
        decision="info",
        reason=(
            f"{describe(body.query, body.query_id)}: masked counts for {layout.size} cells "
            f"sent, summed with {len(body.participants)} participants"
        ),
        holder_org=me.org_id,
    )
    contribution = AggregateContribution(query_id=body.query_id, masked=masked)
    return seal_response(
        keys=me.keys,
        issuer=me.org_id,
        audience=verified.issuer,
        request_id=verified.request_id,
        body=contribution.model_dump(mode="json"),
        recipient_key=registry.public_key(verified.issuer),
    )

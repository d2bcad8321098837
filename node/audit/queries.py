"""Reading the audit log: filtered listing, streaming for export, entries with proofs.

Every read goes through an ``AuditScope`` that the policy package ``joinedup.audit``
decided (``node.audit.dependencies``): the scope's forced filters (a customer's own
``subject_id``, a partner's ``request_id``) are ANDed with whatever the reader asked
for, so no query parameter can widen what policy allowed.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col, select

from federation.keys import MemberKeys
from node.audit.exceptions import AuditSigningHalted
from node.audit.models import AuditEntry, SignedTreeHeadRecord
from node.audit.schemas import AuditFilter, ProvenEntries, ProvenEntry, TreeHeadPublic
from node.audit.service import (
    get_inclusion_proof,
    latest_tree_head,
    read_tree_state,
    sign_tree_head_now,
)

__all__ = [
    "AuditScope",
    "entries_with_proofs",
    "iter_entries",
    "list_entries",
    "list_tree_heads",
    "tree_head_public",
]

_FILTER_COLUMNS = (
    "subject_id",
    "actor_org",
    "actor_staff",
    "purpose",
    "decision",
    "emergency",
    "kind",
    "request_id",
)


@dataclass(frozen=True)
class AuditScope:
    """What a reader may see: equality filters forced by policy, plus 'concerning' orgs.

    ``concerning_org`` (a partner tracing a request) keeps only entries where that
    organisation is the actor or the data holder.
    """

    forced: dict[str, str] = field(default_factory=dict)
    concerning_org: str | None = None


def _conditions(filters: AuditFilter, scope: AuditScope) -> list[Any]:
    where: list[Any] = []
    for name in _FILTER_COLUMNS:
        value = getattr(filters, name)
        if value is not None:
            where.append(getattr(AuditEntry, name) == value)
    for name, value in scope.forced.items():
        where.append(getattr(AuditEntry, name) == value)
    if scope.concerning_org is not None:
        where.append(
            sa.or_(
                col(AuditEntry.actor_org) == scope.concerning_org,
                col(AuditEntry.holder_org) == scope.concerning_org,
            )
        )
    if filters.since is not None:
        where.append(col(AuditEntry.recorded_at) >= filters.since)
    if filters.until is not None:
        where.append(col(AuditEntry.recorded_at) < filters.until)
    return where


def list_entries(
    *, session: Session, filters: AuditFilter, scope: AuditScope, offset: int, limit: int
) -> tuple[list[AuditEntry], int]:
    """One page of matching entries, newest first, and the total count."""
    where = _conditions(filters, scope)
    count = session.exec(select(sa.func.count()).select_from(AuditEntry).where(*where)).one()
    rows = session.exec(
        select(AuditEntry)
        .where(*where)
        .order_by(col(AuditEntry.seq).desc())
        .offset(offset)
        .limit(limit)
    ).all()
    return list(rows), int(count)


def iter_entries(
    *,
    session: Session,
    filters: AuditFilter,
    scope: AuditScope,
    batch: int = 1000,
    newest_first: bool = False,
    after_batch: Callable[[], None] | None = None,
) -> Iterator[AuditEntry]:
    """Every matching entry in log order (or newest first), in keyset-paginated batches.

    ``after_batch`` runs once a batch is read, before its entries are handed on: a
    streamed export ends its read transaction there, so no connection is held while
    the entries travel to the client.
    """
    where = _conditions(filters, scope)
    seq = col(AuditEntry.seq)
    last: int | None = None
    while True:
        query = select(AuditEntry).where(*where)
        if last is not None:
            query = query.where(seq < last if newest_first else seq > last)
        rows = session.exec(query.order_by(seq.desc() if newest_first else seq).limit(batch)).all()
        if not rows:
            return
        last = rows[-1].seq
        for row in rows:
            # Keep memory flat on long exports; the caller's other objects stay put.
            session.expunge(row)
        if after_batch is not None:
            after_batch()
        yield from rows


def tree_head_public(record: SignedTreeHeadRecord, org_id: str) -> TreeHeadPublic:
    return TreeHeadPublic(
        org_id=org_id,
        tree_size=record.tree_size,
        root_hash=record.root_hash,
        timestamp_ms=record.timestamp_ms,
        kid=record.kid,
        jws=record.jws,
    )


def list_tree_heads(
    *, session: Session, org_id: str, offset: int, limit: int
) -> tuple[TreeHeadPublic | None, list[TreeHeadPublic], int]:
    """The latest signed head and a page of history, newest first."""
    count = session.exec(select(sa.func.count()).select_from(SignedTreeHeadRecord)).one()
    rows = session.exec(
        select(SignedTreeHeadRecord)
        .order_by(col(SignedTreeHeadRecord.tree_size).desc(), col(SignedTreeHeadRecord.id).desc())
        .offset(offset)
        .limit(limit)
    ).all()
    latest = latest_tree_head(session)
    return (
        tree_head_public(latest, org_id) if latest else None,
        [tree_head_public(r, org_id) for r in rows],
        int(count),
    )


def entries_with_proofs(
    *,
    session: Session,
    org_id: str,
    filters: AuditFilter,
    scope: AuditScope,
    keys: MemberKeys | None = None,
    limit: int = 1000,
    newest_first: bool = False,
) -> ProvenEntries:
    """Matching entries, each with its inclusion proof against the latest signed head.

    ``newest_first`` keeps the newest ``limit`` entries when there are more (a
    customer's report); otherwise the oldest, in log order (a trace).

    With ``keys``, a fresh head is signed first when a matching entry is newer than
    the latest head (so a trace or report is complete the moment it is asked for);
    without, such entries are left out until the signer's next head (and so they are
    while a tamper alarm stops signing).
    """
    head = latest_tree_head(session)
    covered = head.tree_size if head else 0
    if keys is not None and read_tree_state(session).tree_size > covered:
        newer = session.exec(
            select(AuditEntry.seq)
            .where(col(AuditEntry.seq) >= covered, *_conditions(filters, scope))
            .limit(1)
        ).first()
        if newer is not None:
            try:
                head = sign_tree_head_now(session=session, keys=keys, org_id=org_id)
            except AuditSigningHalted:
                pass  # tampered since the last head: prove against that head only
    if head is None or head.tree_size == 0:
        return ProvenEntries(org_id=org_id, tree_head=None, entries=[])
    proven: list[ProvenEntry] = []
    truncated = False
    entries = iter_entries(session=session, filters=filters, scope=scope, newest_first=newest_first)
    for entry in entries:
        if entry.seq >= head.tree_size:
            if newest_first:
                continue  # newer than the signed head: not provable yet
            break
        if len(proven) >= limit:
            truncated = True
            break
        proof = get_inclusion_proof(session=session, index=entry.seq, tree_size=head.tree_size)
        proven.append(ProvenEntry(entry=entry.canonical(), proof=proof))
    return ProvenEntries(
        org_id=org_id,
        tree_head=tree_head_public(head, org_id),
        entries=proven,
        truncated=truncated,
    )

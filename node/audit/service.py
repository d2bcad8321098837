"""Appending to the audit log, signing tree heads, and serving proofs (RFC 9162).

``record_audit`` is what every other domain calls, inside its own transaction, for
each decision it makes: the entry, its Merkle subtree hashes and the new tree state
are written by the same session, so if the audit write fails the whole transaction
rolls back and nothing is released (DESIGN "Audit"). It flushes, never commits.

Appends are serialised by locking the single ``audit_tree_state`` row first
(``UPDATE ... RETURNING``): on PostgreSQL that is a row lock held to commit, and the
RETURNING row is the latest committed version; on SQLite the UPDATE takes the
database write lock (waiting up to the busy timeout) before anything is read. So two
appends never see the same size and the tree never forks; the primary keys on
``seq`` and ``pos`` are a second line of defence. The lock is held to commit, so
call ``record_audit`` as the last write of a transaction: appends then queue for
the shortest time, and no lock is ever taken after it (no deadlock with the
caller's own rows).

Entries hold no personal data beyond the opaque ``subject_id``: callers pass ids,
roles, purposes and category names, never names or record contents.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Mapping, Sequence
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, select

from federation.keys import MemberKeys
from federation.merkle import (
    HASH_SIZE,
    CompactRange,
    NodeKey,
    NodeSource,
    consistency_proof,
    inclusion_proof_plan,
    leaf_hash,
    plan_keys,
    proof_from_nodes,
    subtree_position,
)
from federation.share_schema import MAX_TEXT
from federation.tree_head import ConsistencyProof, InclusionProof, sign_tree_head
from node.audit.exceptions import AuditEntryInvalid, AuditSigningHalted, ProofUnavailable
from node.audit.guard import check_unsigned_entries, clear_alarm, open_alarm, raise_alarm
from node.audit.models import (
    DECISIONS,
    KINDS,
    AuditRecord,
    AuditSubtree,
    AuditTreeState,
    SignedTreeHeadRecord,
    canonical_entry_json,
    format_time,
)
from node.audit.store import fetch_subtrees, lock_tree_state, write_append
from node.db import utcnow

__all__ = [
    "TreeState",
    "get_consistency_proof",
    "get_inclusion_proof",
    "latest_tree_head",
    "guard_signing",
    "maybe_sign_tree_head",
    "read_tree_state",
    "record_audit",
    "resume_signing",
    "sign_tree_head_now",
    "subtree_source",
]

_MAX_REASON = 2000
_MAX_JUSTIFICATION = MAX_TEXT  # what a share request may carry; never cut (it is evidence)
_LIMITS = {
    "request_id": 128,
    "actor_org": 64,
    "actor_staff": 128,
    "actor_role": 32,
    "subject_id": 128,
    "purpose": 64,
    "action": 32,
    "holder_org": 64,
    "emergency_basis": 64,
    "justification": _MAX_JUSTIFICATION,
}

_state: sa.Table = AuditTreeState.__table__  # type: ignore[attr-defined]
_subtree: sa.Table = AuditSubtree.__table__  # type: ignore[attr-defined]


def record_audit(
    *,
    session: Session,
    kind: str,
    request_id: str,
    actor_org: str,
    actor_staff: str | None = None,
    actor_role: str | None = None,
    subject_id: str | None = None,
    purpose: str | None = None,
    action: str | None = None,
    decision: str = "allow",
    categories: Sequence[str] = (),
    reason: str = "",
    emergency: bool = False,
    holder_org: str | None = None,
    emergency_basis: str | None = None,
    justification: str | None = None,
) -> AuditRecord:
    """Append one entry to the log in the caller's transaction; flush, never commit.

    ``emergency_basis`` and ``justification`` record an emergency access: the legal
    basis invoked and the staff member's written reason, hashed into the entry like
    every other field, so an auditor can read them and nobody can quietly edit them.

    Raises ``AuditEntryInvalid`` (a ``ValueError``, answered 422) for an unknown
    kind or decision or an over-long field: an audit entry that cannot be written
    must stop the action it records.
    """
    if kind not in KINDS:
        raise AuditEntryInvalid(f"unknown audit kind {kind!r}")
    if decision not in DECISIONS:
        raise AuditEntryInvalid(f"unknown audit decision {decision!r}")
    fields = {
        "request_id": request_id,
        "actor_org": actor_org,
        "actor_staff": actor_staff,
        "actor_role": actor_role,
        "subject_id": subject_id,
        "purpose": purpose,
        "action": action,
        "holder_org": holder_org,
        "emergency_basis": emergency_basis,
        "justification": justification,
    }
    for name, value in fields.items():
        if value is not None and (not isinstance(value, str) or len(value) > _LIMITS[name]):
            raise AuditEntryInvalid(
                f"audit field {name} is not a string of at most {_LIMITS[name]} characters"
            )
    if not request_id or not actor_org:
        raise AuditEntryInvalid("audit entries need a request id and an actor organisation")
    released = sorted({str(c) for c in categories})

    connection = session.connection()
    size, compact = _lock_tree(connection)
    values: dict[str, Any] = {
        "seq": size,
        "recorded_at": utcnow(),
        "kind": kind,
        "decision": decision,
        "categories": released,
        "reason": reason[:_MAX_REASON],
        "emergency": bool(emergency),
        **fields,
    }
    leaf = leaf_hash(
        canonical_entry_json(
            at=format_time(values["recorded_at"]),
            **{k: v for k, v in values.items() if k != "recorded_at"},
        )
    )
    completed = compact.append(leaf)
    write_append(
        connection,
        entry=values,
        subtrees=[(subtree_position(level, index), h) for level, index, h in completed],
        tree_size=compact.size,
        frontier=b"".join(compact.frontier),
        root_hash=compact.root(),
    )
    return AuditRecord(**values, leaf_hash=leaf)


def _lock_tree(connection: sa.Connection) -> tuple[int, CompactRange]:
    row = lock_tree_state(connection)
    if row is None:
        raise RuntimeError("audit tree state row is missing: run the migrations")
    size, frontier = row
    hashes = [frontier[i : i + HASH_SIZE] for i in range(0, len(frontier), HASH_SIZE)]
    return size, CompactRange(size, hashes)


class TreeState:
    """A consistent snapshot of the tree's size and root."""

    __slots__ = ("tree_size", "root_hash")

    def __init__(self, tree_size: int, root_hash: bytes) -> None:
        self.tree_size = tree_size
        self.root_hash = root_hash


def read_tree_state(session: Session) -> TreeState:
    """The current size and root (one row, so always consistent; no lock needed)."""
    row = session.execute(
        sa.select(_state.c.tree_size, _state.c.root_hash).where(_state.c.id == 1)
    ).one()
    return TreeState(int(row[0]), bytes(row[1]))


# -- signed tree heads ----------------------------------------------------------------


def latest_tree_head(session: Session) -> SignedTreeHeadRecord | None:
    statement = select(SignedTreeHeadRecord).order_by(
        SignedTreeHeadRecord.tree_size.desc(),  # type: ignore[attr-defined]
        SignedTreeHeadRecord.id.desc(),  # type: ignore[union-attr]
    )
    return session.exec(statement.limit(1)).first()


def sign_tree_head_now(
    *, session: Session, keys: MemberKeys, org_id: str, now: dt.datetime | None = None
) -> SignedTreeHeadRecord:
    """Sign the current (size, root, time) with the node's key and store it.

    Refuses (``AuditSigningHalted``) while a tamper alarm is open, and raises one
    when the entries since the last head no longer match their hashes
    (``node.audit.guard``): a head must never vouch for a doctored log.
    """
    state = guard_signing(session=session, keys=keys, org_id=org_id)
    moment = now or utcnow()
    timestamp_ms = int(moment.timestamp() * 1000)
    sth = sign_tree_head(
        keys=keys,
        org_id=org_id,
        tree_size=state.tree_size,
        root_hash=state.root_hash,
        timestamp=timestamp_ms,
    )
    record = SignedTreeHeadRecord(
        tree_size=sth.tree_size,
        root_hash=sth.root_hash,
        timestamp_ms=sth.timestamp,
        kid=keys.kid,
        jws=sth.jws,
        signed_at=moment,
    )
    session.add(record)
    session.flush()
    return record


def guard_signing(*, session: Session, keys: MemberKeys, org_id: str) -> TreeState:
    """The tree state to sign, checked; ``AuditSigningHalted`` unless the log is intact."""
    alarm = open_alarm(session)
    if alarm is not None:
        raise AuditSigningHalted(
            f"the audit log was tampered with from entry {alarm.first_bad_index}; "
            "no tree head is signed until an operator resumes signing"
        )
    head = latest_tree_head(session)  # before the state: see check_unsigned_entries
    state = read_tree_state(session)
    problem = check_unsigned_entries(
        session=session,
        head=head,
        verify_key=keys.verify_key,
        org_id=org_id,
        tree_size=state.tree_size,
        root_hash=state.root_hash,
    )
    if problem is None:
        return state
    first_bad, detail = problem
    # The alarm outlives the caller's transaction, which the refusal rolls back.
    with Session(session.get_bind()) as own:
        raise_alarm(
            session=own,
            first_bad_index=first_bad,
            detail=detail,
            tree_size=read_tree_state(own).tree_size,
        )
        own.commit()
    raise AuditSigningHalted(f"the audit log was tampered with from entry {first_bad}: {detail}")


def resume_signing(*, session: Session, keys: MemberKeys, org_id: str, operator_note: str) -> int:
    """An operator's action after a tamper alarm: clear it once the log checks out again.

    The entries since the last signed head are re-checked first; if they still do
    not match (the damage was not undone, e.g. by restoring a backup) the alarm stays
    and ``AuditSigningHalted`` is raised. Clearing is itself audited. Returns the
    number of alarms cleared (0 when none was open).
    """
    head = latest_tree_head(session)
    state = read_tree_state(session)
    problem = check_unsigned_entries(
        session=session,
        head=head,
        verify_key=keys.verify_key,
        org_id=org_id,
        tree_size=state.tree_size,
        root_hash=state.root_hash,
    )
    if problem is not None:
        raise AuditSigningHalted(
            f"the log still does not match its hashes from entry {problem[0]}: {problem[1]}"
        )
    cleared = 0
    while (alarm := open_alarm(session)) is not None:
        clear_alarm(session=session, alarm=alarm, note=operator_note[:500])
        cleared += 1
    if cleared:
        record_audit(
            session=session,
            kind="admin_change",
            request_id=f"resume-signing-{utcnow():%Y%m%dT%H%M%S}",
            actor_org=org_id,
            action="resume_signing",
            decision="info",
            reason=f"tree head signing resumed after a tamper alarm: {operator_note}",
        )
    return cleared


def maybe_sign_tree_head(
    *, session: Session, keys: MemberKeys, org_id: str, every: int, seconds: float
) -> SignedTreeHeadRecord | None:
    """Sign when ``every`` entries or ``seconds`` have passed since the last head.

    The very first head is signed at once (even for the empty log), so a node has
    something to publish from its first minute; an idle log is not re-signed. While
    a tamper alarm is open nothing is signed (the alarm was logged when raised).
    """
    if open_alarm(session) is not None:
        return None
    latest = latest_tree_head(session)
    state = read_tree_state(session)
    if latest is None:
        return sign_tree_head_now(session=session, keys=keys, org_id=org_id)
    grown = state.tree_size - latest.tree_size
    if grown <= 0:
        return None
    age_s = time.time() - latest.timestamp_ms / 1000
    if grown >= every or age_s >= seconds:
        return sign_tree_head_now(session=session, keys=keys, org_id=org_id)
    return None


# -- proofs ---------------------------------------------------------------------------


def subtree_source(session: Session) -> NodeSource:
    """Stored perfect-subtree hashes, fetched in one query per proof."""

    def source(keys: Sequence[NodeKey]) -> Mapping[NodeKey, bytes]:
        by_pos = {subtree_position(level, index): (level, index) for level, index in keys}
        rows = fetch_subtrees(session.connection(), list(by_pos))
        return {by_pos[int(pos)]: bytes(digest) for pos, digest in rows}

    return source


def _check_size(session: Session, tree_size: int) -> None:
    current = read_tree_state(session).tree_size
    if tree_size > current:
        raise ProofUnavailable(f"the log has only {current} entries")


def get_inclusion_proof(*, session: Session, index: int, tree_size: int) -> InclusionProof:
    """PATH(index, D[tree_size]) with the leaf hash, from stored subtrees (RFC 9162 §2.1.3).

    One query: the leaf and the path's subtrees together cover leaves 0..tree_size-1,
    so if any is missing the log is shorter than ``tree_size`` (or damaged).
    """
    if not 0 <= index < tree_size:
        raise ProofUnavailable("index must be below tree_size")
    plan = inclusion_proof_plan(index, tree_size)
    wanted = plan_keys(plan) | {(0, index)}
    nodes = subtree_source(session)(sorted(wanted))
    if len(nodes) != len(wanted):
        _check_size(session, tree_size)
        raise ProofUnavailable("stored tree is incomplete; run audit verification")
    return InclusionProof(
        index=index,
        tree_size=tree_size,
        leaf_hash=nodes[(0, index)].hex(),
        proof=[p.hex() for p in proof_from_nodes(plan, nodes)],
    )


def get_consistency_proof(*, session: Session, first: int, second: int) -> ConsistencyProof:
    """PROOF(first, D[second]) from stored subtrees (RFC 9162 §2.1.4)."""
    if not 0 <= first <= second:
        raise ProofUnavailable("first must not exceed second")
    _check_size(session, second)
    try:
        path = consistency_proof(first, second, subtree_source(session))
    except LookupError as exc:
        raise ProofUnavailable("stored tree is incomplete; run audit verification") from exc
    return ConsistencyProof(first=first, second=second, proof=[p.hex() for p in path])

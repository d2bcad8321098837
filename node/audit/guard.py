"""The tamper guard: never sign a tree head over entries that no longer match their hashes.

A signed tree head is the node's word that the log holds exactly these entries. If
someone edits the database between two heads (an entry's reason, its categories,
a stored hash), signing the next head would launder the edit: the new head would
commit to the doctored state and only a full ``verify`` would ever notice. So before
every head (``node.audit.service.sign_tree_head_now``) the entries appended since
the last signed head are re-checked, which costs only the entries since that head:

- the last head's JWS verifies with the node's key, and the stored perfect subtrees
  covering its entries fold to its root (the starting point is what was signed);
- every entry since then is present once, in ``seq`` order, up to the tree's size;
- each entry's leaf hash, recomputed from its columns, equals the stored leaf, and
  each subtree it completes equals the stored one;
- the recomputed root equals the tree state row's root.

On a mismatch an ``audit_alarm`` row is written and signing stops: while an alarm is
open no head is signed, by the background signer, a trace, a report or the API
(``AuditSigningHalted``, 503). The alarm shows on ``/health``, on the auditor page
and in the log (entry numbers only, never entry contents). It stays until an
operator has looked and the check passes again — ``joinedup audit resume-signing``
(docs/operations.md) — so a restart cannot silence it.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

import sqlalchemy as sa
from nacl.signing import VerifyKey
from sqlmodel import Session, col, select

from federation.errors import PeerSignatureInvalid
from federation.merkle import (
    HASH_SIZE,
    CompactRange,
    perfect_subtrees,
    stored_node_count,
    subtree_position,
)
from federation.tree_head import verify_tree_head
from node.audit.models import AuditAlarm, SignedTreeHeadRecord
from node.audit.verify import entry_leaf_hashes
from node.db import utcnow

__all__ = ["alarm_message", "check_unsigned_entries", "clear_alarm", "open_alarm", "raise_alarm"]

log = logging.getLogger("joinedup.node.audit")
_CHUNK = 5_000


def open_alarm(session: Session) -> AuditAlarm | None:
    """The alarm that currently stops signing, if any."""
    statement = select(AuditAlarm).where(col(AuditAlarm.cleared_at).is_(None))
    return session.exec(statement.order_by(col(AuditAlarm.id)).limit(1)).first()


def alarm_message(connection: sa.Connection) -> str | None:
    """The open alarm in one sentence (for ``/health``), or None."""
    row = connection.execute(
        sa.text(
            "SELECT first_bad_index, detail FROM audit_alarm WHERE cleared_at IS NULL "
            "ORDER BY id LIMIT 1"
        )
    ).first()
    if row is None:
        return None
    return (
        f"audit log tampered from entry {row[0]} ({row[1]}): tree head signing stopped "
        "until an operator runs 'joinedup audit resume-signing'"
    )


def _stored(connection: sa.Connection, positions: Sequence[int]) -> dict[int, bytes]:
    if not positions:
        return {}
    rows = connection.execute(
        sa.text("SELECT pos, hash FROM audit_subtree WHERE pos IN :pos").bindparams(
            sa.bindparam("pos", expanding=True)
        ),
        {"pos": list(positions)},
    )
    return {int(pos): bytes(digest) for pos, digest in rows}


def _stored_range(connection: sa.Connection, low: int, high: int) -> dict[int, bytes]:
    rows = connection.execute(
        sa.text("SELECT pos, hash FROM audit_subtree WHERE pos >= :low AND pos < :high"),
        {"low": low, "high": high},
    )
    return {int(pos): bytes(digest) for pos, digest in rows}


def check_unsigned_entries(
    *,
    session: Session,
    head: SignedTreeHeadRecord | None,
    verify_key: VerifyKey,
    org_id: str,
    tree_size: int,
    root_hash: bytes,
) -> tuple[int, str] | None:
    """Re-check the entries from ``head`` up to the tree state ``(tree_size, root_hash)``.

    Returns ``(first bad index, what is wrong)``, or None when they match. Read
    ``head`` before the state: entries appended after the state was read are not
    the caller's to sign (``sign_tree_head_now`` signs exactly the state checked),
    so the check stops at ``tree_size``; ``verify`` reports rows beyond the tree.
    """
    connection = session.connection()
    state_size, state_root = tree_size, root_hash
    start = 0
    frontier: list[bytes] = []
    if head is not None:
        try:
            signed = verify_tree_head(head.jws, [verify_key], org_id=org_id)
        except PeerSignatureInvalid:
            return head.tree_size, "the last signed tree head does not verify"
        start = signed.tree_size
        if start > state_size:
            return state_size, "the log is shorter than its last signed tree head"
        keys = perfect_subtrees(0, start)
        stored = _stored(connection, [subtree_position(level, index) for level, index in keys])
        frontier = [stored.get(subtree_position(level, index), b"") for level, index in keys]
        if any(len(h) != HASH_SIZE for h in frontier) or CompactRange(
            start, frontier
        ).root() != bytes(signed.root):
            return 0, "the stored hashes no longer fold to the last signed tree head"
    compact = CompactRange(start, frontier)
    expected = start
    while True:
        limit = min(_CHUNK, state_size - expected)
        rows = entry_leaf_hashes(connection, after=expected - 1, limit=limit) if limit else []
        if not rows:
            break
        last = min(rows[-1][0] + 1, state_size)
        stored = _stored_range(connection, stored_node_count(expected), stored_node_count(last))
        for seq, leaf in rows:
            if seq != expected:
                return expected, f"entries from {expected} are missing"
            if seq >= state_size:
                break  # appended since the state was read (rows are in seq order)
            if leaf is None or stored.get(subtree_position(0, seq)) != leaf:
                return seq, f"entry {seq} no longer matches its hash"
            for level, index, digest in compact.append(leaf)[1:]:
                if stored.get(subtree_position(level, index)) != digest:
                    return index << level, f"a stored hash over entry {seq} was changed"
            expected = seq + 1
    if expected != state_size:
        return expected, f"entries from {expected} are missing"
    if compact.root() != bytes(state_root):
        return start, "the tree state's root differs from the entries"
    return None


def raise_alarm(*, session: Session, first_bad_index: int, detail: str, tree_size: int) -> None:
    """Record the alarm (in its own commit by the caller) and log it without contents."""
    session.add(AuditAlarm(tree_size=tree_size, first_bad_index=first_bad_index, detail=detail))
    session.flush()
    log.critical(
        "AUDIT LOG TAMPERED: tree head signing stopped (first bad entry %d: %s); "
        "run 'joinedup audit verify', then 'joinedup audit resume-signing'",
        first_bad_index,
        detail,
    )


def clear_alarm(*, session: Session, alarm: AuditAlarm, note: str) -> None:
    """An operator's action: the check passed again, so signing may resume."""
    alarm.cleared_at = utcnow()
    alarm.cleared_note = note
    session.add(alarm)
    session.flush()

"""Full verification of a node's audit log: recompute the tree, check every signed head.

``verify_log`` streams the entries in ``seq`` order, recomputes each leaf hash from
the entry's columns (canonical JSON, RFC 9162 §2.1.1), rebuilds the tree with a
compact range and compares, as it goes:

- each recomputed leaf with the stored leaf hash (an edited or reordered entry);
- each subtree it completes with the stored subtree (a doctored proof store);
- ``seq`` with the next expected index (a deleted entry leaves a gap; an entry
  inserted without going through ``record_audit`` sits beyond the tree's size);
- the root at every signed tree head's size with the signed root, after checking
  the head's Ed25519 signature (a rewrite of both entries and stored hashes);
- the final root with the tree state row.

The report names the first bad entry (the lowest index any check implicates), so
an auditor knows from where the log can no longer be trusted. Memory is bounded by
the chunk size: subtrees are stored by completion position, which is exactly the
order the compact range produces them in.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Callable, Sequence
from functools import lru_cache
from hashlib import sha256
from typing import Any

import sqlalchemy as sa
from nacl.signing import VerifyKey
from pydantic import BaseModel

from federation.errors import PeerSignatureInvalid
from federation.merkle import (
    EMPTY_ROOT,
    HASH_SIZE,
    CompactRange,
    stored_node_count,
)
from federation.tree_head import verify_tree_head
from node.audit.models import (
    AuditEntry,
    AuditSubtree,
    AuditTreeState,
    SignedTreeHeadRecord,
    encode_entry,
    format_time,
)

__all__ = ["VerificationProblem", "VerificationReport", "entry_leaf_hashes", "verify_log"]

_MAX_PROBLEMS = 50
_MAX_RANGES = 1000
_entry: sa.Table = AuditEntry.__table__  # type: ignore[attr-defined]
_subtree: sa.Table = AuditSubtree.__table__  # type: ignore[attr-defined]
_state: sa.Table = AuditTreeState.__table__  # type: ignore[attr-defined]
_head: sa.Table = SignedTreeHeadRecord.__table__  # type: ignore[attr-defined]
# The order _leaf_of() unpacks; plain SQL, raw values (SQLAlchemy's per-row type
# processing cost more than the hashing), converted exactly as the column types would.
_ENTRY_COLUMNS = (
    "seq, recorded_at, request_id, kind, actor_org, actor_staff, actor_role, subject_id,"
    " purpose, action, decision, categories, reason, emergency, holder_org, emergency_basis,"
    " justification"
)
_ENTRIES_SQL = {
    "sqlite": f"SELECT {_ENTRY_COLUMNS} FROM audit_entry WHERE seq > ? ORDER BY seq LIMIT ?",
    "postgresql": f"SELECT {_ENTRY_COLUMNS} FROM audit_entry WHERE seq > %s ORDER BY seq LIMIT %s",
}
_SUBTREES_SQL = {
    "sqlite": "SELECT pos, hash FROM audit_subtree WHERE pos >= ? AND pos < ?",
    "postgresql": "SELECT pos, hash FROM audit_subtree WHERE pos >= %s AND pos < %s",
}
# SQLAlchemy's SQLite DATETIME storage format; anything else goes through the type.
_SQLITE_TIME = re.compile(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{6}")


@lru_cache(maxsize=4096)
def _categories(text: str) -> tuple[str, ...]:
    # Category lists repeat endlessly in a log; parse each distinct one once.
    value = json.loads(text)
    if not isinstance(value, list):
        raise TypeError("categories is not a list")
    return tuple(value)


def _leaf_of(row: Sequence[Any], time_of: Callable[[object], str]) -> bytes:
    (
        seq,
        recorded_at,
        request_id,
        kind,
        actor_org,
        actor_staff,
        actor_role,
        subject_id,
        purpose,
        action,
        decision,
        categories,
        reason,
        emergency,
        holder_org,
        emergency_basis,
        justification,
    ) = row
    if type(categories) is str:
        categories = _categories(categories)
    elif not isinstance(categories, list):
        raise TypeError("categories is not a list")
    if type(emergency) is int and emergency in (0, 1):  # SQLite keeps booleans as 0/1
        emergency = bool(emergency)
    return sha256(
        b"\x00"
        + encode_entry(
            action,
            actor_org,
            actor_role,
            actor_staff,
            recorded_at[:10] + "T" + recorded_at[11:] + "Z"
            if type(recorded_at) is str
            and len(recorded_at) == 26
            and _SQLITE_TIME.match(recorded_at)
            else time_of(recorded_at),
            categories,
            decision,
            emergency,
            holder_org,
            kind,
            purpose,
            reason,
            request_id,
            seq,
            subject_id,
            emergency_basis,
            justification,
        )
    ).digest()


def _time_reader(connection: sa.Connection) -> Callable[[object], str]:
    time_processor = _entry.c.recorded_at.type.result_processor(connection.dialect, None)

    def time_of(raw: object) -> str:
        if type(raw) is str and len(raw) == 26 and _SQLITE_TIME.fullmatch(raw):
            return raw[:10] + "T" + raw[11:] + "Z"
        value = time_processor(raw) if time_processor else raw
        if not isinstance(value, dt.datetime):
            raise TypeError("recorded_at is not a timestamp")
        return format_time(value)

    return time_of


def entry_leaf_hashes(
    connection: sa.Connection, *, after: int, limit: int
) -> list[tuple[int, bytes | None]]:
    """``(seq, recomputed leaf hash)`` of up to ``limit`` entries after ``after``.

    None for an entry that cannot be encoded canonically. The tamper guard
    (``node.audit.guard``) re-checks the entries since the last signed head with it.
    """
    dialect = "sqlite" if connection.dialect.name == "sqlite" else "postgresql"
    time_of = _time_reader(connection)
    cursor = connection.connection.cursor()
    try:
        cursor.execute(_ENTRIES_SQL[dialect], (after, limit))
        rows = cursor.fetchall()
    finally:
        cursor.close()
    out: list[tuple[int, bytes | None]] = []
    for row in rows:
        try:
            out.append((int(row[0]), _leaf_of(row, time_of)))
        except (ValueError, TypeError):
            out.append((int(row[0]), None))
    return out


class VerificationProblem(BaseModel):
    """One finding; ``index`` is the leaf it implicates (None for a head on its own)."""

    index: int | None
    kind: str
    detail: str


class VerificationReport(BaseModel):
    """What ``joinedup audit verify`` and ``POST /audit/verify`` answer."""

    ok: bool
    org_id: str
    tree_size: int
    root_hash: str
    entries_checked: int
    tree_heads_checked: int
    first_bad_index: int | None
    problems: list[VerificationProblem]


class _Findings:
    """Problems found so far, and where trust in the log ends.

    A precise finding names one entry. A subtree or signed head that does not match
    only says some entry in a range was changed, so a range counts only when no
    precise finding and no narrower range lies inside it (a changed leaf makes
    every subtree above it differ too).
    """

    def __init__(self) -> None:
        self.problems: list[VerificationProblem] = []
        self.precise: list[int] = []
        self.ranges: list[tuple[int, int]] = []

    def add(self, index: int | None, kind: str, detail: str, *, upto: int | None = None) -> None:
        if index is not None:
            if upto is None:
                if len(self.precise) < _MAX_RANGES:
                    self.precise.append(index)
                else:
                    self.precise[-1] = min(self.precise[-1], index)
            elif len(self.ranges) < _MAX_RANGES:
                self.ranges.append((index, upto))
        if len(self.problems) < _MAX_PROBLEMS:
            self.problems.append(VerificationProblem(index=index, kind=kind, detail=detail))

    @property
    def first_bad(self) -> int | None:
        candidates = list(self.precise)
        ranges = set(self.ranges)
        for low, high in ranges:
            explained = any(low <= i < high for i in self.precise) or any(
                low <= a and b <= high and (a, b) != (low, high) for a, b in ranges
            )
            if not explained:
                candidates.append(low)
        return min(candidates, default=None)


def _load_heads(
    connection: sa.Connection, verify_keys: Sequence[VerifyKey], org_id: str, found: _Findings
) -> dict[int, list[bytes]]:
    heads: dict[int, list[bytes]] = {}
    rows = connection.execute(
        sa.select(_head.c.id, _head.c.tree_size, _head.c.root_hash, _head.c.jws).order_by(
            _head.c.tree_size, _head.c.id
        )
    )
    for head_id, size, root_hex, jws in rows:
        try:
            sth = verify_tree_head(jws, list(verify_keys), org_id=org_id)
        except PeerSignatureInvalid:
            found.add(None, "tree_head_signature", f"tree head {head_id} does not verify")
            continue
        if sth.tree_size != size or sth.root_hash != root_hex:
            found.add(None, "tree_head_record", f"tree head {head_id} differs from its JWS")
        heads.setdefault(sth.tree_size, []).append(sth.root)
    return heads


def _read_state(connection: sa.Connection) -> tuple[int, bytes]:
    size, root = connection.execute(
        sa.select(_state.c.tree_size, _state.c.root_hash).where(_state.c.id == 1)
    ).one()
    return int(size), bytes(root)


def verify_log(
    *,
    connection: sa.Connection,
    verify_keys: Sequence[VerifyKey],
    org_id: str,
    chunk: int = 20_000,
) -> VerificationReport:
    """Recompute the whole tree and check it against stored hashes and signed heads."""
    found = _Findings()
    # Each statement may see its own snapshot (SQLite outside a transaction, PostgreSQL
    # read committed) while other workers append. Heads are read before the state, so
    # no head can be newer than it; entries past the state are judged after the scan.
    heads = _load_heads(connection, verify_keys, org_id, found)
    state_size, state_root = _read_state(connection)
    for size in heads:
        if size > state_size:
            found.add(state_size, "log_truncated", f"a signed head covers {size} entries")

    dialect = "sqlite" if connection.dialect.name == "sqlite" else "postgresql"
    time_of = _time_reader(connection)

    frontier: list[bytes] = []  # the compact range of the recomputed tree
    checked = 0
    heads_checked = len(heads.get(0, ()))
    if any(root != EMPTY_ROOT for root in heads.get(0, ())):
        found.add(0, "tree_head_mismatch", "a signed head of the empty log has another root")
    expected = 0
    last_good_head = 0
    tree_intact = True  # recomputed roots mean something only before the first gap
    after = -1
    beyond: list[int] = []  # entries the state read at the start did not cover
    cursor = connection.connection.cursor()
    try:
        while True:
            cursor.execute(_ENTRIES_SQL[dialect], (after, chunk))
            rows = cursor.fetchall()
            if not rows:
                break
            first, last = int(rows[0][0]), int(rows[-1][0])
            after = last
            low = stored_node_count(min(first, state_size))
            high = stored_node_count(min(last + 1, state_size))
            cursor.execute(_SUBTREES_SQL[dialect], (low, high))
            stored = dict(cursor.fetchall())
            stored_get = stored.get
            for row in rows:
                seq = int(row[0])
                checked += 1
                if seq >= state_size:
                    beyond.append(seq)
                    continue
                if seq != expected:
                    found.add(
                        expected, "entry_missing", f"entries {expected}..{seq - 1} are missing"
                    )
                    tree_intact = False
                    expected = seq
                # Subtrees completed by leaf seq sit at consecutive positions from here.
                base = 2 * seq - seq.bit_count()
                try:
                    leaf = _leaf_of(row, time_of)
                except (ValueError, TypeError):
                    found.add(seq, "entry_malformed", f"entry {seq} cannot be encoded canonically")
                    leaf = b"\x00" * HASH_SIZE
                if stored.get(base) != leaf:
                    found.add(seq, "entry_modified", f"entry {seq} does not match its leaf hash")
                expected = seq + 1
                if not tree_intact:
                    continue
                # CompactRange.append inlined (this loop is the verifier's hot path):
                # merge equal-sized subtrees, comparing each with its stored copy.
                current, level, index = leaf, 0, seq
                while index & 1:
                    current = sha256(b"\x01" + frontier.pop() + current).digest()
                    level += 1
                    index >>= 1
                    if stored_get(base + level) != current:
                        # Some leaf under this subtree was changed along with its stored
                        # hash: the first one it covers is where trust ends.
                        start = index << level
                        found.add(
                            start,
                            "subtree_mismatch",
                            f"stored subtree over entries {start}..{seq} differs",
                            upto=seq + 1,
                        )
                frontier.append(current)
                size = seq + 1
                if size in heads:
                    root = CompactRange(size, frontier).root()
                    for signed in heads[size]:
                        heads_checked += 1
                        if signed == root:
                            last_good_head = size
                        else:
                            found.add(
                                last_good_head,
                                "tree_head_mismatch",
                                f"signed head of size {size} differs: an entry in "
                                f"{last_good_head}..{size - 1} was changed",
                                upto=size,
                            )
    finally:
        cursor.close()
    if beyond:
        # An entry appended (with its tree update) since the state was read is not a
        # finding; one the tree still does not cover is.
        now_size = _read_state(connection)[0]
        for seq in beyond:
            if seq >= now_size:
                found.add(seq, "entry_not_in_tree", f"entry {seq} is beyond the tree's size")
            else:
                checked -= 1
    if expected < state_size:
        found.add(expected, "entry_missing", f"entries {expected}..{state_size - 1} are missing")
    elif tree_intact and CompactRange(expected, frontier).root() != bytes(state_root):
        found.add(None, "state_mismatch", "the tree state row's root differs")
    return VerificationReport(
        ok=not found.problems,
        org_id=org_id,
        tree_size=state_size,
        root_hash=bytes(state_root).hex(),
        entries_checked=checked,
        tree_heads_checked=heads_checked,
        first_bad_index=found.first_bad,
        problems=found.problems,
    )

"""Audit tables: the entries, the Merkle tree's stored subtrees, its state and signed heads.

The log is an RFC 9162 Merkle tree (``federation.merkle``) over the canonical JSON of
each ``audit_entry`` row, leaf index = ``seq``. To answer proofs without recomputing
the tree, every completed perfect subtree hash is kept in ``audit_subtree`` under its
completion position (``federation.merkle.subtree_position``): append-only, about two
rows per entry, and streamable in the order verification recomputes it.
``audit_tree_state`` is one row (id 1) holding the size, the right frontier and the
root; every append locks it first, which is what serialises concurrent appends so the
tree never forks. ``audit_tree_head`` keeps every signed tree head the node issued.

Nothing here is ever updated or deleted by the application except the state row.
"""

from __future__ import annotations

import datetime as dt
import json
import json.encoder
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, get_args

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from node.audit.schemas import Decision, Kind
from node.db import UTCDateTime, utcnow

KINDS: tuple[str, ...] = get_args(Kind)  # the one list: node.audit.schemas.Kind
DECISIONS: tuple[str, ...] = get_args(Decision)
# The "v" field of the canonical entry; bump on any change of shape. Format 2 adds the
# emergency basis and the written justification (issue 11); an entry with neither keeps
# format 1's exact bytes, so every entry written before it still verifies.
ENTRY_FORMAT = 2
ENTRY_FORMAT_PLAIN = 1


def format_time(value: dt.datetime) -> str:
    """The canonical spelling of an entry's time: UTC, microseconds, 'Z'."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.UTC)
    return value.astimezone(dt.UTC).isoformat(timespec="microseconds")[:-6] + "Z"


_quote = json.encoder.encode_basestring  # JSON string, non-ASCII kept: as RFC 8785


_TEMPLATE = (
    '{"action":%s,"actor_org":%s,"actor_role":%s,"actor_staff":%s,"at":%s,'
    '"categories":[%s],"decision":%s,"emergency":%s,"holder_org":%s,"kind":%s,'
    '"purpose":%s,"reason":%s,"request_id":%s,"seq":%d,"subject_id":%s,"v":'
    + str(ENTRY_FORMAT_PLAIN)
    + "}"
)
_TEMPLATE_EMERGENCY = (
    '{"action":%s,"actor_org":%s,"actor_role":%s,"actor_staff":%s,"at":%s,'
    '"categories":[%s],"decision":%s,"emergency":%s,"emergency_basis":%s,"holder_org":%s,'
    '"justification":%s,"kind":%s,"purpose":%s,"reason":%s,"request_id":%s,"seq":%d,'
    '"subject_id":%s,"v":' + str(ENTRY_FORMAT) + "}"
)


def canonical_entry_json(
    *,
    seq: int,
    at: str,
    request_id: str,
    kind: str,
    actor_org: str,
    actor_staff: str | None,
    actor_role: str | None,
    subject_id: str | None,
    purpose: str | None,
    action: str | None,
    decision: str,
    categories: Sequence[str],
    reason: str,
    emergency: bool,
    holder_org: str | None,
    emergency_basis: str | None = None,
    justification: str | None = None,
) -> bytes:
    """The canonical JSON of an entry, spelled out field by field for speed.

    Byte-identical to ``federation.merkle.canonical_entry_bytes(canonical_fields(...))``
    (a hypothesis test holds it to that); five times faster, which is what lets
    verification pass 100,000 entries/s. Keys are in RFC 8785 (sorted) order.
    Raises ``TypeError``/``ValueError`` on values an append could never have written.
    """
    return encode_entry(
        action,
        actor_org,
        actor_role,
        actor_staff,
        at,
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


def encode_entry(
    action: str | None,
    actor_org: str,
    actor_role: str | None,
    actor_staff: str | None,
    at: str,
    categories: Sequence[str],
    decision: str,
    emergency: bool,
    holder_org: str | None,
    kind: str,
    purpose: str | None,
    reason: str,
    request_id: str,
    seq: int,
    subject_id: str | None,
    emergency_basis: str | None = None,
    justification: str | None = None,
) -> bytes:
    """``canonical_entry_json`` with positional arguments in key order (the hot path).

    The two format-2 fields come last; when both are None the entry is format 1.
    """
    if type(seq) is not int or type(emergency) is not bool:
        raise TypeError("seq must be an int and emergency a bool")
    q = _quote
    head = (
        "null" if action is None else q(action),
        q(actor_org),
        "null" if actor_role is None else q(actor_role),
        "null" if actor_staff is None else q(actor_staff),
        q(at),
        ",".join([q(c) for c in categories]),
        q(decision),
        "true" if emergency else "false",
    )
    holder = "null" if holder_org is None else q(holder_org)
    tail = (
        q(kind),
        "null" if purpose is None else q(purpose),
        q(reason),
        q(request_id),
        seq,
        "null" if subject_id is None else q(subject_id),
    )
    if emergency_basis is None and justification is None:
        return (_TEMPLATE % (*head, holder, *tail)).encode("utf-8")
    basis = "null" if emergency_basis is None else q(emergency_basis)
    written = "null" if justification is None else q(justification)
    return (_TEMPLATE_EMERGENCY % (*head, basis, holder, written, *tail)).encode("utf-8")


class AuditEntry(SQLModel, table=True):
    """One audited event; its canonical JSON is leaf ``seq`` of the node's Merkle tree."""

    __tablename__ = "audit_entry"

    # Indexes only on selective columns: each index is another b-tree every append
    # writes, and kind / purpose / decision / emergency narrow little on their own.

    seq: int = Field(sa_column=sa.Column(sa.BigInteger, primary_key=True, autoincrement=False))
    recorded_at: dt.datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, index=True)
    request_id: str = Field(max_length=128, index=True)
    kind: str = Field(max_length=32)
    actor_org: str = Field(max_length=64, index=True)
    actor_staff: str | None = Field(default=None, max_length=128, index=True)
    actor_role: str | None = Field(default=None, max_length=32)
    subject_id: str | None = Field(default=None, max_length=128, index=True)
    purpose: str | None = Field(default=None, max_length=64)
    action: str | None = Field(default=None, max_length=32)
    decision: str = Field(max_length=8)
    categories: list[str] = Field(default_factory=list, sa_type=sa.JSON)
    reason: str = Field(default="", sa_type=sa.Text)
    emergency: bool = Field(default=False)
    holder_org: str | None = Field(default=None, max_length=64)
    # Emergency access only (entry format 2): the basis invoked and the written reason.
    emergency_basis: str | None = Field(default=None, max_length=64)
    justification: str | None = Field(default=None, sa_type=sa.Text)

    def canonical(self) -> dict[str, Any]:
        """The mapping whose canonical JSON is this entry's leaf (see docs/audit.md)."""
        return canonical_fields(
            seq=self.seq,
            recorded_at=self.recorded_at,
            request_id=self.request_id,
            kind=self.kind,
            actor_org=self.actor_org,
            actor_staff=self.actor_staff,
            actor_role=self.actor_role,
            subject_id=self.subject_id,
            purpose=self.purpose,
            action=self.action,
            decision=self.decision,
            categories=self.categories,
            reason=self.reason,
            emergency=self.emergency,
            holder_org=self.holder_org,
            emergency_basis=self.emergency_basis,
            justification=self.justification,
        )


def canonical_fields(
    *,
    seq: int,
    recorded_at: dt.datetime,
    request_id: str,
    kind: str,
    actor_org: str,
    actor_staff: str | None,
    actor_role: str | None,
    subject_id: str | None,
    purpose: str | None,
    action: str | None,
    decision: str,
    categories: list[str],
    reason: str,
    emergency: bool,
    holder_org: str | None,
    emergency_basis: str | None = None,
    justification: str | None = None,
) -> dict[str, Any]:
    """Build the canonical entry mapping from column values (verification uses this too).

    Format 2 (an emergency basis or justification present) adds both keys; otherwise
    the mapping is format 1, exactly as entries were written before format 2.
    """
    fields: dict[str, Any] = {
        "v": ENTRY_FORMAT_PLAIN,
        "seq": seq,
        "at": format_time(recorded_at),
        "request_id": request_id,
        "kind": kind,
        "actor_org": actor_org,
        "actor_staff": actor_staff,
        "actor_role": actor_role,
        "subject_id": subject_id,
        "purpose": purpose,
        "action": action,
        "decision": decision,
        "categories": list(categories),
        "reason": reason,
        "emergency": bool(emergency),
        "holder_org": holder_org,
    }
    if emergency_basis is not None or justification is not None:
        fields.update(v=ENTRY_FORMAT, emergency_basis=emergency_basis, justification=justification)
    return fields


@dataclass(frozen=True, slots=True)
class AuditRecord:
    """What ``record_audit`` returns: the entry as written, without an ORM instance.

    Same attribute names as ``AuditEntry`` (building a table instance per append
    cost a third of an append's time).
    """

    seq: int
    recorded_at: dt.datetime
    request_id: str
    kind: str
    actor_org: str
    actor_staff: str | None
    actor_role: str | None
    subject_id: str | None
    purpose: str | None
    action: str | None
    decision: str
    categories: list[str]
    reason: str
    emergency: bool
    holder_org: str | None
    emergency_basis: str | None
    justification: str | None
    leaf_hash: bytes

    def canonical(self) -> dict[str, Any]:
        fields = {f: getattr(self, f) for f in self.__slots__ if f != "leaf_hash"}
        return canonical_fields(**fields)


class AuditSubtree(SQLModel, table=True):
    """The hash of one completed perfect subtree, keyed by its completion position."""

    __tablename__ = "audit_subtree"

    pos: int = Field(sa_column=sa.Column(sa.BigInteger, primary_key=True, autoincrement=False))
    hash: bytes = Field(sa_column=sa.Column(sa.LargeBinary(32), nullable=False))


class AuditTreeState(SQLModel, table=True):
    """The single row (id 1) every append locks: size, right frontier, root."""

    __tablename__ = "audit_tree_state"

    id: int = Field(default=1, primary_key=True)
    tree_size: int = Field(default=0, sa_column=sa.Column(sa.BigInteger, nullable=False))
    frontier: bytes = Field(default=b"", sa_column=sa.Column(sa.LargeBinary, nullable=False))
    root_hash: bytes = Field(sa_column=sa.Column(sa.LargeBinary(32), nullable=False))
    updated_at: dt.datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class SignedTreeHeadRecord(SQLModel, table=True):
    """A tree head this node signed and published (``federation.tree_head``)."""

    __tablename__ = "audit_tree_head"

    id: int | None = Field(default=None, primary_key=True)
    tree_size: int = Field(sa_column=sa.Column(sa.BigInteger, nullable=False, index=True))
    root_hash: str = Field(max_length=64)
    timestamp_ms: int = Field(sa_column=sa.Column(sa.BigInteger, nullable=False))
    kid: str = Field(max_length=16)
    jws: str = Field(sa_type=sa.Text)
    signed_at: dt.datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class AuditAlarm(SQLModel, table=True):
    """Tampering found before signing a head (``node.audit.guard``); open while not cleared."""

    __tablename__ = "audit_alarm"

    id: int | None = Field(default=None, primary_key=True)
    raised_at: dt.datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    tree_size: int = Field(sa_column=sa.Column(sa.BigInteger, nullable=False))
    first_bad_index: int = Field(sa_column=sa.Column(sa.BigInteger, nullable=False))
    detail: str = Field(max_length=200)
    cleared_at: dt.datetime | None = Field(default=None, sa_type=UTCDateTime)
    cleared_note: str | None = Field(default=None, max_length=500)

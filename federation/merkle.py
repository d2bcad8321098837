"""Merkle tree hashing and proofs for the audit log (RFC 9162 §2.1, as RFC 6962).

Every node's audit log is a Merkle tree in the manner of Certificate Transparency
(DESIGN "Audit"): a leaf hash is SHA-256(0x00 || entry), an interior hash is
SHA-256(0x01 || left || right), and the tree over ``n`` leaves splits at the largest
power of two smaller than ``n`` (RFC 9162 §2.1.1). From the tree come inclusion
proofs (§2.1.3) and consistency proofs (§2.1.4).

This module is pure: no database, no I/O. A verifier (partner, auditor, customer)
needs nothing else to check a proof against a signed tree head. A node stores the
hashes of *perfect* subtrees — those covering ``2**level`` leaves starting at a
multiple of ``2**level`` — keyed by ``(level, index)``. Perfect subtrees never change
once complete, so the store is append-only, and every subtree that a proof for a
tree of any size needs is the fold of at most ``log2(n)`` perfect ones. The proof
builders here first *plan* which stored hashes they need (one batched lookup), then
assemble the proof, so a proof on a million-entry log costs one query.

``canonical_entry_bytes`` gives the byte string a leaf hashes: canonical JSON in the
manner of RFC 8785 (JCS) — keys sorted by UTF-16 code units, no insignificant
whitespace, UTF-8, minimal string escapes. Floats are refused rather than risk a
number spelling that differs from JCS; audit entries carry none.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

__all__ = [
    "EMPTY_ROOT",
    "HASH_SIZE",
    "NodeKey",
    "NodeSource",
    "CompactRange",
    "canonical_entry_bytes",
    "consistency_proof",
    "consistency_proof_plan",
    "entry_leaf_hash",
    "inclusion_proof",
    "inclusion_proof_plan",
    "leaf_hash",
    "node_hash",
    "perfect_subtrees",
    "plan_keys",
    "proof_from_nodes",
    "stored_node_count",
    "subtree_position",
    "root_from_leaf_hashes",
    "root_from_leaves",
    "verify_consistency",
    "verify_inclusion",
]

HASH_SIZE = 32
EMPTY_ROOT = hashlib.sha256(b"").digest()  # MTH({}) = HASH() (RFC 9162 §2.1.1)
_MAX_SAFE_INT = 2**53 - 1  # RFC 8785 §3.2.2.3: numbers are IEEE 754 doubles

NodeKey = tuple[int, int]
"""``(level, index)`` of a perfect subtree: leaves ``[index * 2**level, (index+1) * 2**level)``."""

NodeSource = Callable[[Sequence[NodeKey]], Mapping[NodeKey, bytes]]
"""Looks up stored perfect-subtree hashes in one batch; missing keys are a store fault."""


def leaf_hash(data: bytes) -> bytes:
    """MTH of one entry: SHA-256(0x00 || data) (RFC 9162 §2.1.1)."""
    return hashlib.sha256(b"\x00" + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """Interior node: SHA-256(0x01 || left || right) (RFC 9162 §2.1.1)."""
    return hashlib.sha256(b"\x01" + left + right).digest()


def root_from_leaf_hashes(hashes: Sequence[bytes]) -> bytes:
    """MTH(D[n]) given the leaf hashes, in O(n) with a compact range."""
    compact = CompactRange()
    for digest in hashes:
        compact.append(digest)
    return compact.root()


def root_from_leaves(leaves: Iterable[bytes]) -> bytes:
    """MTH(D[n]) over raw entries (each is leaf-hashed first) (RFC 9162 §2.1.1)."""
    compact = CompactRange()
    for data in leaves:
        compact.append(leaf_hash(data))
    return compact.root()


# -- canonical JSON (RFC 8785 style) -------------------------------------------------


def canonical_entry_bytes(entry: Mapping[str, Any]) -> bytes:
    """The canonical JSON encoding of ``entry``: what its leaf hashes.

    Raises ``ValueError`` for anything JCS cannot spell identically everywhere:
    floats, integers beyond 2**53 - 1, non-string keys, lone surrogates.
    """
    if not isinstance(entry, Mapping):
        raise ValueError("an audit entry is a JSON object")
    if _flat_ascii_keys(entry):
        # Fast path for the common flat entry: json.dumps sorts by code point, which
        # equals UTF-16 order for ASCII keys, and escapes exactly as JCS does.
        text = json.dumps(entry, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    else:
        text = _canonical(entry)
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise ValueError("entry contains a lone surrogate") from exc


def entry_leaf_hash(entry: Mapping[str, Any]) -> bytes:
    """Leaf hash of an audit entry given as a mapping."""
    return leaf_hash(canonical_entry_bytes(entry))


def _scalar_ok(value: Any) -> bool:
    kind = type(value)
    if kind is str or kind is bool or value is None:
        return True
    return kind is int and -_MAX_SAFE_INT <= value <= _MAX_SAFE_INT


def _flat_ascii_keys(entry: Mapping[str, Any]) -> bool:
    # Exact type checks (not isinstance): subclasses may serialise differently.
    if type(entry) is not dict:
        return False
    for key, value in entry.items():
        if type(key) is not str or not key.isascii():
            return False
        if type(value) is list:
            for item in value:
                if not _scalar_ok(item):
                    return False
        elif not _scalar_ok(value):
            return False
    return True


def _canonical(value: Any) -> str:
    if value is None or isinstance(value, (bool, str)):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, int):
        if not -_MAX_SAFE_INT <= value <= _MAX_SAFE_INT:
            raise ValueError("integer outside the JSON safe range")
        return str(value)
    if isinstance(value, float):
        raise ValueError("floats are not allowed in canonical entries")
    if isinstance(value, Mapping):
        items = []
        for key in value:
            if not isinstance(key, str):
                raise ValueError("object keys must be strings")
            items.append(key)
        # RFC 8785 §3.2.3: sort by UTF-16 code units, not code points.
        items.sort(key=lambda k: k.encode("utf-16-be", "surrogatepass"))
        return (
            "{"
            + ",".join(
                json.dumps(k, ensure_ascii=False) + ":" + _canonical(value[k]) for k in items
            )
            + "}"
        )
    if isinstance(value, (list, tuple)):
        return "[" + ",".join(_canonical(item) for item in value) + "]"
    raise ValueError(f"{type(value).__name__} is not a JSON value")


# -- the append-side compact range ----------------------------------------------------


class CompactRange:
    """The right frontier of a growing tree: one perfect-subtree hash per set bit of size.

    ``append`` returns the perfect subtrees it completes, which is exactly what a
    node stores (on average two per leaf). ``root`` folds the frontier from the
    right, which equals MTH(D[n]) (RFC 9162 §2.1.1).
    """

    __slots__ = ("size", "frontier")

    def __init__(self, size: int = 0, frontier: Sequence[bytes] = ()) -> None:
        if len(frontier) != bin(size).count("1"):
            raise ValueError("frontier does not match tree size")
        self.size = size
        self.frontier = list(frontier)  # largest subtree first

    def append(self, digest: bytes) -> list[tuple[int, int, bytes]]:
        """Add one leaf hash; return the ``(level, index, hash)`` nodes completed."""
        index = self.size
        completed = [(0, index, digest)]
        current = digest
        level = 0
        while (index >> level) & 1:
            current = node_hash(self.frontier.pop(), current)
            level += 1
            completed.append((level, index >> level, current))
        self.frontier.append(current)
        self.size += 1
        return completed

    def root(self) -> bytes:
        if not self.frontier:
            return EMPTY_ROOT
        result = self.frontier[-1]
        for digest in reversed(self.frontier[:-1]):
            result = node_hash(digest, result)
        return result


# -- proof planning and assembly over stored perfect subtrees -------------------------


def stored_node_count(tree_size: int) -> int:
    """How many perfect subtrees a tree of ``tree_size`` leaves has: 2n - popcount(n)."""
    return 2 * tree_size - bin(tree_size).count("1")


def subtree_position(level: int, index: int) -> int:
    """The order in which ``CompactRange.append`` completes subtree ``(level, index)``.

    Positions run 0, 1, 2, ... with no gaps (the post-order numbering of a Merkle
    mountain range), so a store keyed by position is append-only and a verifier can
    stream it in the same order it recomputes it.
    """
    last_leaf = ((index + 1) << level) - 1
    return stored_node_count(last_leaf) + level


def perfect_subtrees(start: int, size: int) -> list[NodeKey]:
    """The perfect subtrees whose right fold is MTH(D[start:start+size]).

    ``start`` must be a multiple of a power of two >= ``size``, which holds for every
    subtree the RFC 9162 recursions visit.
    """
    keys: list[NodeKey] = []
    offset = start
    for level in range(size.bit_length() - 1, -1, -1):
        if size >> level & 1:
            keys.append((level, offset >> level))
            offset += 1 << level
    return keys


def _fold(keys: Sequence[NodeKey], nodes: Mapping[NodeKey, bytes]) -> bytes:
    result = _lookup(nodes, keys[-1])
    for key in reversed(keys[:-1]):
        result = node_hash(_lookup(nodes, key), result)
    return result


def _lookup(nodes: Mapping[NodeKey, bytes], key: NodeKey) -> bytes:
    try:
        return nodes[key]
    except KeyError:
        raise LookupError(f"stored subtree hash {key} is missing") from None


def _split(n: int) -> int:
    """Largest power of two strictly smaller than ``n`` (n >= 2)."""
    return 1 << ((n - 1).bit_length() - 1)


def inclusion_proof_plan(index: int, tree_size: int) -> list[list[NodeKey]]:
    """For each element of PATH(index, D[tree_size]), the perfect subtrees to fold.

    Order is leaf to root, as RFC 9162 §2.1.3.1 lists the audit path.
    """
    if not 0 <= index < tree_size:
        raise ValueError("index outside the tree")
    plan: list[list[NodeKey]] = []
    start, size, m = 0, tree_size, index
    while size > 1:
        k = _split(size)
        if m < k:
            plan.append(perfect_subtrees(start + k, size - k))
            size = k
        else:
            plan.append(perfect_subtrees(start, k))
            start, size, m = start + k, size - k, m - k
    plan.reverse()
    return plan


def consistency_proof_plan(old_size: int, new_size: int) -> list[list[NodeKey]]:
    """For each element of PROOF(old_size, D[new_size]) (RFC 9162 §2.1.4.1), its subtrees."""
    if not 0 <= old_size <= new_size:
        raise ValueError("sizes out of order")
    if old_size in (0, new_size):
        return []
    plan: list[list[NodeKey]] = []
    start, size, m, complete = 0, new_size, old_size, True
    while m != size:
        k = _split(size)
        if m <= k:
            plan.append(perfect_subtrees(start + k, size - k))
            size = k
        else:
            plan.append(perfect_subtrees(start, k))
            start, size, m, complete = start + k, size - k, m - k, False
    if not complete:
        plan.append(perfect_subtrees(start, size))
    plan.reverse()
    return plan


def plan_keys(plan: list[list[NodeKey]]) -> set[NodeKey]:
    """Every stored subtree a proof plan needs (to fetch them in one batch)."""
    return {key for keys in plan for key in keys}


def proof_from_nodes(plan: list[list[NodeKey]], nodes: Mapping[NodeKey, bytes]) -> list[bytes]:
    """Fold fetched subtree hashes into the proof; ``LookupError`` if one is missing."""
    return [_fold(keys, nodes) for keys in plan]


def _assemble(plan: list[list[NodeKey]], source: NodeSource) -> list[bytes]:
    wanted = sorted(plan_keys(plan))
    return proof_from_nodes(plan, source(wanted) if wanted else {})


def inclusion_proof(index: int, tree_size: int, source: NodeSource) -> list[bytes]:
    """PATH(index, D[tree_size]) from stored perfect-subtree hashes (RFC 9162 §2.1.3.1)."""
    return _assemble(inclusion_proof_plan(index, tree_size), source)


def consistency_proof(old_size: int, new_size: int, source: NodeSource) -> list[bytes]:
    """PROOF(old_size, D[new_size]) from stored perfect-subtree hashes (§2.1.4.1)."""
    return _assemble(consistency_proof_plan(old_size, new_size), source)


# -- verification (RFC 9162 §2.1.3.2, §2.1.4.2) ---------------------------------------


def _well_formed(*digests: bytes) -> bool:
    return all(isinstance(d, bytes) and len(d) == HASH_SIZE for d in digests)


def verify_inclusion(
    *, leaf_hash: bytes, index: int, tree_size: int, proof: Sequence[bytes], root: bytes
) -> bool:
    """True iff ``proof`` shows the leaf at ``index`` is in the tree with ``root``."""
    if not _well_formed(leaf_hash, root, *proof):
        return False
    if not 0 <= index < tree_size:
        return False
    fn, sn = index, tree_size - 1
    r = leaf_hash
    for p in proof:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            if not fn & 1:
                while fn and not fn & 1:
                    fn >>= 1
                    sn >>= 1
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    return sn == 0 and r == root


def verify_consistency(
    *,
    old_size: int,
    new_size: int,
    old_root: bytes,
    new_root: bytes,
    proof: Sequence[bytes],
) -> bool:
    """True iff ``proof`` shows the tree of ``old_size`` is a prefix of ``new_size``.

    Equal sizes need an empty proof and equal roots; an empty old tree is a prefix of
    every tree (as transparency-dev/merkle does); otherwise RFC 9162 §2.1.4.2.
    """
    if not _well_formed(old_root, new_root, *proof):
        return False
    if not 0 <= old_size <= new_size:
        return False
    if old_size == new_size:
        return not proof and old_root == new_root
    if old_size == 0:
        return not proof and old_root == EMPTY_ROOT
    if not proof:
        return False
    path = list(proof)
    if old_size & (old_size - 1) == 0:
        path.insert(0, old_root)
    fn, sn = old_size - 1, new_size - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            fr = node_hash(c, fr)
            sr = node_hash(c, sr)
            if not fn & 1:
                while fn and not fn & 1:
                    fn >>= 1
                    sn >>= 1
        else:
            sr = node_hash(sr, c)
        fn >>= 1
        sn >>= 1
    return fr == old_root and sr == new_root and sn == 0

"""federation.merkle against a literal transcription of RFC 9162 §2.1 (MTH, PATH, PROOF)."""

from __future__ import annotations

import hashlib
import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from federation.merkle import (
    EMPTY_ROOT,
    CompactRange,
    canonical_entry_bytes,
    consistency_proof,
    inclusion_proof,
    leaf_hash,
    node_hash,
    root_from_leaf_hashes,
    root_from_leaves,
    stored_node_count,
    subtree_position,
    verify_consistency,
    verify_inclusion,
)

# -- reference: the recursive definitions of RFC 9162 §2.1, nothing clever -----------


def ref_mth(d: list[bytes]) -> bytes:
    n = len(d)
    if n == 0:
        return hashlib.sha256(b"").digest()
    if n == 1:
        return hashlib.sha256(b"\x00" + d[0]).digest()
    k = 1
    while k * 2 < n:
        k *= 2
    return hashlib.sha256(b"\x01" + ref_mth(d[:k]) + ref_mth(d[k:])).digest()


def ref_path(m: int, d: list[bytes]) -> list[bytes]:
    n = len(d)
    if n == 1:
        return []
    k = 1
    while k * 2 < n:
        k *= 2
    if m < k:
        return ref_path(m, d[:k]) + [ref_mth(d[k:])]
    return ref_path(m - k, d[k:]) + [ref_mth(d[:k])]


def ref_subproof(m: int, d: list[bytes], b: bool) -> list[bytes]:
    n = len(d)
    if m == n:
        return [] if b else [ref_mth(d)]
    k = 1
    while k * 2 < n:
        k *= 2
    if m <= k:
        return ref_subproof(m, d[:k], b) + [ref_mth(d[k:])]
    return ref_subproof(m - k, d[k:], False) + [ref_mth(d[:k])]


def ref_proof(m: int, d: list[bytes]) -> list[bytes]:
    return ref_subproof(m, d, True)


# -- a dict-backed node store fed by CompactRange, as the node's table is -------------


def build_store(d: list[bytes]) -> tuple[dict[tuple[int, int], bytes], CompactRange]:
    store: dict[tuple[int, int], bytes] = {}
    compact = CompactRange()
    for data in d:
        for level, index, digest in compact.append(leaf_hash(data)):
            store[(level, index)] = digest
    return store, compact


def source_of(store):
    def source(keys):
        return {key: store[key] for key in keys}

    return source


def leaves(n: int) -> list[bytes]:
    return [f"entry-{i}".encode() for i in range(n)]


sizes = st.integers(min_value=1, max_value=300)


@settings(max_examples=60, deadline=None)
@given(n=st.integers(min_value=0, max_value=300))
def test_roots_match_rfc_9162_mth(n):
    d = leaves(n)
    store, compact = build_store(d)
    assert root_from_leaves(d) == ref_mth(d)
    assert root_from_leaf_hashes([leaf_hash(x) for x in d]) == ref_mth(d)
    assert compact.root() == ref_mth(d)


@settings(max_examples=80, deadline=None)
@given(data=st.data(), n=sizes)
def test_inclusion_proofs_equal_rfc_path_and_verify(data, n):
    d = leaves(n)
    store, _ = build_store(d)
    size = data.draw(st.integers(min_value=1, max_value=n), label="tree_size")
    index = data.draw(st.integers(min_value=0, max_value=size - 1), label="index")
    proof = inclusion_proof(index, size, source_of(store))
    assert proof == ref_path(index, d[:size])
    root = ref_mth(d[:size])
    assert verify_inclusion(
        leaf_hash=leaf_hash(d[index]), index=index, tree_size=size, proof=proof, root=root
    )


@settings(max_examples=80, deadline=None)
@given(data=st.data(), n=st.integers(min_value=2, max_value=300))
def test_tampered_inclusion_proofs_fail(data, n):
    d = leaves(n)
    store, _ = build_store(d)
    index = data.draw(st.integers(min_value=0, max_value=n - 1))
    proof = inclusion_proof(index, n, source_of(store))
    root = ref_mth(d)
    good = leaf_hash(d[index])
    assert not verify_inclusion(
        leaf_hash=leaf_hash(b"forged"), index=index, tree_size=n, proof=proof, root=root
    )
    other = data.draw(st.integers(min_value=0, max_value=n - 1).filter(lambda i: i != index))
    assert not verify_inclusion(leaf_hash=good, index=other, tree_size=n, proof=proof, root=root)
    if proof:
        where = data.draw(st.integers(min_value=0, max_value=len(proof) - 1))
        flipped = list(proof)
        flipped[where] = bytes([flipped[where][0] ^ 1]) + flipped[where][1:]
        assert not verify_inclusion(
            leaf_hash=good, index=index, tree_size=n, proof=flipped, root=root
        )
        assert not verify_inclusion(
            leaf_hash=good, index=index, tree_size=n, proof=proof[:-1], root=root
        )
    assert not verify_inclusion(
        leaf_hash=good, index=index, tree_size=n, proof=[*proof, root], root=root
    )


@settings(max_examples=80, deadline=None)
@given(data=st.data(), n=sizes)
def test_consistency_proofs_equal_rfc_proof_and_verify(data, n):
    d = leaves(n)
    store, _ = build_store(d)
    new = data.draw(st.integers(min_value=1, max_value=n), label="new")
    old = data.draw(st.integers(min_value=1, max_value=new), label="old")
    proof = consistency_proof(old, new, source_of(store))
    if old < new:
        assert proof == ref_proof(old, d[:new])
    else:
        assert proof == []
    assert verify_consistency(
        old_size=old,
        new_size=new,
        old_root=ref_mth(d[:old]),
        new_root=ref_mth(d[:new]),
        proof=proof,
    )


@settings(max_examples=80, deadline=None)
@given(data=st.data(), n=st.integers(min_value=3, max_value=300))
def test_consistency_with_a_rewritten_prefix_fails(data, n):
    d = leaves(n)
    new = data.draw(st.integers(min_value=2, max_value=n))
    old = data.draw(st.integers(min_value=1, max_value=new - 1))
    changed = data.draw(st.integers(min_value=0, max_value=old - 1))
    rewritten = list(d[:new])
    rewritten[changed] = b"rewritten"
    store, _ = build_store(rewritten)
    proof = consistency_proof(old, new, source_of(store))
    # The holder of the old head kept the original root; the rewritten log cannot match it.
    assert not verify_consistency(
        old_size=old,
        new_size=new,
        old_root=ref_mth(d[:old]),
        new_root=ref_mth(rewritten),
        proof=proof,
    )
    if proof:
        flipped = list(proof)
        flipped[0] = bytes([flipped[0][0] ^ 1]) + flipped[0][1:]
        assert not verify_consistency(
            old_size=old,
            new_size=new,
            old_root=ref_mth(d[:old]),
            new_root=ref_mth(d[:new]),
            proof=flipped,
        )


@settings(max_examples=30, deadline=None)
@given(n=st.integers(min_value=0, max_value=600))
def test_subtree_positions_number_completed_nodes_in_order(n):
    compact = CompactRange()
    positions = []
    for i in range(n):
        positions += [
            subtree_position(level, index)
            for level, index, _ in compact.append(leaf_hash(str(i).encode()))
        ]
    assert positions == list(range(stored_node_count(n)))


def test_edge_cases_fail_closed():
    root = ref_mth(leaves(4))
    assert not verify_inclusion(leaf_hash=root, index=0, tree_size=0, proof=[], root=root)
    assert not verify_inclusion(leaf_hash=root, index=-1, tree_size=4, proof=[], root=root)
    assert not verify_inclusion(leaf_hash=b"short", index=0, tree_size=1, proof=[], root=root)
    assert verify_inclusion(
        leaf_hash=leaf_hash(b"x"), index=0, tree_size=1, proof=[], root=leaf_hash(b"x")
    )
    assert verify_consistency(old_size=0, new_size=4, old_root=EMPTY_ROOT, new_root=root, proof=[])
    assert verify_consistency(old_size=4, new_size=4, old_root=root, new_root=root, proof=[])
    assert not verify_consistency(
        old_size=4, new_size=4, old_root=root, new_root=EMPTY_ROOT, proof=[]
    )
    assert not verify_consistency(old_size=5, new_size=4, old_root=root, new_root=root, proof=[])
    assert not verify_consistency(old_size=2, new_size=4, old_root=root, new_root=root, proof=[])
    assert node_hash(b"a", b"b") == hashlib.sha256(b"\x01ab").digest()


def test_missing_stored_node_is_a_lookup_error():
    with pytest.raises(LookupError):
        inclusion_proof(0, 4, lambda keys: {})


# -- canonical JSON -----------------------------------------------------------------


json_scalars = st.none() | st.booleans() | st.integers(-(2**53) + 1, 2**53 - 1) | st.text()
json_values = st.recursive(
    json_scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=12,
)


@settings(max_examples=100, deadline=None)
@given(st.dictionaries(st.text(), json_values, max_size=6))
def test_canonical_json_round_trips_and_is_order_independent(entry):
    try:
        encoded = canonical_entry_bytes(entry)
    except ValueError:
        # Only lone surrogates are refused among these values: UTF-8 cannot carry them.
        with pytest.raises(UnicodeEncodeError):
            json.dumps(entry, ensure_ascii=False).encode("utf-8")
        return
    assert json.loads(encoded) == entry
    reordered = dict(reversed(list(entry.items())))
    assert canonical_entry_bytes(reordered) == encoded
    assert b"\n" not in encoded


def test_canonical_json_sorts_keys_by_utf16_code_units():
    # U+1F600 is D83D DE00 in UTF-16, which sorts before U+FB01; code points disagree.
    entry = {"\ufb01": 1, "\U0001f600": 2, "a": 3}
    assert canonical_entry_bytes(entry) == '{"a":3,"\U0001f600":2,"\ufb01":1}'.encode()


def test_canonical_json_matches_rfc_8785_escapes():
    assert canonical_entry_bytes({"s": '\u20ac$\u000f\n"\\/'}) == (
        '{"s":"\u20ac$\\u000f\\n\\"\\\\/"}'.encode()
    )


@pytest.mark.parametrize(
    "bad", [{"f": 1.5}, {"n": 2**53}, {"x": {1: 2}}, {"s": "\ud800"}, {"b": b"x"}]
)
def test_canonical_json_refuses_what_jcs_cannot_spell_uniquely(bad):
    with pytest.raises(ValueError):  # noqa: PT011
        canonical_entry_bytes(bad)

"""Signed tree heads and verifier-side proof checks (federation.tree_head)."""

from __future__ import annotations

import pytest

from federation.errors import PeerSignatureInvalid
from federation.jose import sign_jwt
from federation.keys import MemberKeys
from federation.merkle import CompactRange, entry_leaf_hash, inclusion_proof
from federation.tree_head import (
    STH_TYP,
    check_consistency,
    check_inclusion,
    sign_tree_head,
    verify_tree_head,
)


@pytest.fixture(scope="module")
def keys() -> MemberKeys:
    return MemberKeys.generate()


def entries(n: int) -> list[dict]:
    return [{"seq": i, "kind": "login", "categories": ["needs"]} for i in range(n)]


def test_tree_head_round_trips(keys):
    sth = sign_tree_head(
        keys=keys, org_id="council", tree_size=3, root_hash=b"\x11" * 32, timestamp=1700000000000
    )
    checked = verify_tree_head(sth.jws, keys.verify_key, org_id="council")
    assert checked == sth
    assert checked.root == b"\x11" * 32


def test_tree_head_from_another_key_or_org_is_refused(keys):
    sth = sign_tree_head(keys=keys, org_id="council", tree_size=1, root_hash="00" * 32, timestamp=1)
    with pytest.raises(PeerSignatureInvalid):
        verify_tree_head(sth.jws, MemberKeys.generate().verify_key)
    with pytest.raises(PeerSignatureInvalid):
        verify_tree_head(sth.jws, keys.verify_key, org_id="police")


@pytest.mark.parametrize(
    "claims",
    [
        {"iss": "c", "tree_size": "3", "root_hash": "00" * 32, "timestamp": 1},
        {"iss": "c", "tree_size": True, "root_hash": "00" * 32, "timestamp": 1},
        {"iss": "c", "tree_size": -1, "root_hash": "00" * 32, "timestamp": 1},
        {"iss": "c", "tree_size": 1, "root_hash": "AA" * 32, "timestamp": 1},
        {"iss": "c", "tree_size": 1, "root_hash": "00" * 32},
    ],
)
def test_malformed_tree_head_claims_are_refused(keys, claims):
    token = sign_jwt(claims, keys.signing_key, typ=STH_TYP)
    with pytest.raises(PeerSignatureInvalid):
        verify_tree_head(token, keys.verify_key)


def test_a_jwt_of_another_type_is_not_a_tree_head(keys):
    token = sign_jwt(
        {"iss": "c", "tree_size": 1, "root_hash": "00" * 32, "timestamp": 1}, keys.signing_key
    )
    with pytest.raises(PeerSignatureInvalid):
        verify_tree_head(token, keys.verify_key)


def test_check_inclusion_and_consistency_from_hex(keys):
    log = entries(7)
    store: dict = {}
    compact = CompactRange()
    heads = {}
    for entry in log:
        for level, index, digest in compact.append(entry_leaf_hash(entry)):
            store[(level, index)] = digest
        heads[compact.size] = sign_tree_head(
            keys=keys, org_id="gp", tree_size=compact.size, root_hash=compact.root(), timestamp=5
        )

    def source(wanted):
        return {key: store[key] for key in wanted}

    head = heads[7]
    proof = [p.hex() for p in inclusion_proof(4, 7, source)]
    assert check_inclusion(entry=log[4], index=4, proof=proof, tree_head=head)
    assert not check_inclusion(entry=log[3], index=4, proof=proof, tree_head=head)
    assert not check_inclusion(entry={"seq": 4.5}, index=4, proof=proof, tree_head=head)
    assert not check_inclusion(entry=log[4], index=4, proof=["zz"], tree_head=head)

    from federation.merkle import consistency_proof

    cons = [p.hex() for p in consistency_proof(3, 7, source)]
    assert check_consistency(old=heads[3], new=heads[7], proof=cons)
    assert not check_consistency(old=heads[4], new=heads[7], proof=cons)

"""Secure summation: masks cancel in the sum and hide every single contribution."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from nacl.public import PrivateKey, PublicKey

from federation.secure_sum import (
    MODULUS,
    SecureSumError,
    expand_mask,
    masked_vector,
    pair_seed,
    plain_sum,
    unmask_sum,
)

ORGS = ["council", "gp", "housing", "police", "school"]
KEYS = {org: PrivateKey.generate() for org in ORGS}
PUBLIC: dict[str, PublicKey] = {org: key.public_key for org, key in KEYS.items()}


def contributions(counts: dict[str, list[int]], query_id: str) -> dict[str, list[int]]:
    participants = {org: PUBLIC[org] for org in counts}
    return {
        org: masked_vector(
            values, me=org, my_key=KEYS[org], participants=participants, query_id=query_id
        )
        for org, values in counts.items()
    }


def test_both_ends_of_a_pair_derive_the_same_seed_and_nobody_else_does():
    ab = pair_seed(
        my_key=KEYS["gp"],
        my_org="gp",
        their_key=PUBLIC["police"],
        their_org="police",
        query_id="q1",
    )
    ba = pair_seed(
        my_key=KEYS["police"],
        my_org="police",
        their_key=PUBLIC["gp"],
        their_org="gp",
        query_id="q1",
    )
    other_query = pair_seed(
        my_key=KEYS["gp"],
        my_org="gp",
        their_key=PUBLIC["police"],
        their_org="police",
        query_id="q2",
    )
    other_pair = pair_seed(
        my_key=KEYS["gp"],
        my_org="gp",
        their_key=PUBLIC["school"],
        their_org="school",
        query_id="q1",
    )
    assert ab == ba
    assert len({ab, other_query, other_pair}) == 3  # fmt: skip


@settings(max_examples=40, deadline=None)
@given(
    st.lists(st.integers(0, 10**9), min_size=1, max_size=30).flatmap(
        lambda first: st.lists(
            st.lists(st.integers(0, 10**9), min_size=len(first), max_size=len(first)),
            min_size=2,
            max_size=4,
        ).map(lambda rest: [first, *rest])
    )
)
def test_the_masks_cancel_in_the_sum(vectors):
    counts = dict(zip(ORGS, vectors, strict=False))
    masked = contributions(counts, "query-hypothesis")
    cells = len(vectors[0])
    assert unmask_sum(masked.values(), cells) == plain_sum(counts.values(), cells)


def test_no_single_contribution_reveals_its_counts():
    counts = {org: [7] * 2048 for org in ORGS}
    masked = contributions(counts, "query-random")
    for vector in masked.values():
        assert 7 not in vector
        ones = sum(bin(v).count("1") for v in vector)
        # 2048 x 64 uniformly random bits: the share of ones is 0.5 +- 0.004 (1 sigma).
        assert 0.49 < ones / (2048 * 64) < 0.51


def test_the_requester_stripping_its_own_mask_still_sees_noise():
    """The requester knows its mask with a node, not that node's masks with the others."""
    counts = {org: [3, 5, 8] for org in ORGS}
    masked = contributions(counts, "query-strip")
    seed = pair_seed(
        my_key=KEYS["council"], my_org="council", their_key=PUBLIC["gp"], their_org="gp",
        query_id="query-strip",
    )  # fmt: skip
    own_mask = expand_mask(seed, 3)
    # gp is after council, so gp subtracted this mask: add it back.
    stripped = [(c + m) % MODULUS for c, m in zip(masked["gp"], own_mask, strict=True)]
    assert stripped != [3, 5, 8]
    assert min(stripped) > 2**32  # still masked by gp's pairs with the other three


def test_a_missing_contribution_leaves_masks_that_do_not_cancel():
    masked = contributions({org: [10, 20] for org in ORGS}, "query-drop")
    with pytest.raises(SecureSumError, match="did not cancel"):
        unmask_sum([v for org, v in masked.items() if org != "police"], 2)


def test_an_altered_contribution_is_refused():
    masked = contributions({org: [10, 20] for org in ORGS}, "query-alter")
    masked["gp"] = [(masked["gp"][0] + 2**63) % MODULUS, masked["gp"][1]]
    with pytest.raises(SecureSumError):
        unmask_sum(masked.values(), 2)


def test_masks_differ_from_one_query_to_the_next():
    first = contributions({org: [1] for org in ORGS}, "query-a")
    second = contributions({org: [1] for org in ORGS}, "query-b")
    assert all(first[org] != second[org] for org in ORGS)


@pytest.mark.parametrize(
    ("values", "participants", "message"),
    [
        ([1], ["council", "gp"], "at least 3"),
        ([-1], ORGS, "0..2"),
        ([2**62], ORGS, "0..2"),
        ([1], ["gp", "police", "school"], "not among"),
    ],
)
def test_bad_inputs_are_refused(values, participants, message):
    with pytest.raises(SecureSumError, match=message):
        masked_vector(
            values,
            me="council",
            my_key=KEYS["council"],
            participants={org: PUBLIC[org] for org in participants},
            query_id="q",
        )


def test_vectors_of_the_wrong_length_or_range_are_refused():
    with pytest.raises(SecureSumError, match="expected 2 cells"):
        unmask_sum([[1, 2, 3]], 2)
    with pytest.raises(SecureSumError, match="64-bit"):
        unmask_sum([[MODULUS, 0]], 2)

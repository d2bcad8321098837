"""Secure summation: the requester learns the federation's totals, never a node's own.

Each participant ``i`` holds a vector of counts ``v_i`` (one per cell of an evidence
question). For every other participant ``j`` it derives a pairwise mask ``m_ij``
that only ``i`` and ``j`` can compute, and sends

    c_i = v_i + sum(m_ij for j after i) - sum(m_ji for j before i)   (mod 2**64)

where "after" is the order of org ids. Every mask is added once and subtracted once,
so ``sum(c_i) == sum(v_i) (mod 2**64)``; any one ``c_i`` on its own is uniformly
random to whoever lacks a mask it contains (the requester, itself a participant,
knows its own masks with ``i`` but not ``i``'s masks with the others — hence at
least three participants). This is the pairwise-masking core of Bonawitz et al.,
"Practical Secure Aggregation for Privacy-Preserving Machine Learning" (CCS 2017),
without its secret-sharing recovery: a participant that drops out makes the sum
unusable, and the requester runs the query again without it (a new query id, so
no mask is ever used twice).

Key agreement is X25519 (RFC 7748) between the members' registry encryption keys,
so no extra round is needed to agree keys. The raw shared secret is never used
directly: the pair's seed is BLAKE2b keyed with it over the query id and the two org
ids (RFC 7693), and the seed is expanded into one 64-bit mask per cell with
libsodium's ``randombytes_buf_deterministic`` (ChaCha20).
"""

from __future__ import annotations

import hashlib
import json
import struct
from collections.abc import Iterable, Mapping, Sequence

from nacl.bindings import crypto_scalarmult, randombytes_buf_deterministic
from nacl.public import PrivateKey, PublicKey

MODULUS = 2**64
MAX_COUNT = 2**62  # far above any count; leaves room to detect masks that did not cancel
MIN_PARTICIPANTS = 3
_PERSON = b"joinedup-ssum-v1"  # BLAKE2b personalisation: these seeds are for nothing else


class SecureSumError(ValueError):
    """Masks that cannot be derived, a malformed vector, or a sum that did not unmask."""


def pair_seed(
    *, my_key: PrivateKey, my_org: str, their_key: PublicKey, their_org: str, query_id: str
) -> bytes:
    """The 32-byte seed both members of a pair derive for ``query_id``."""
    if my_org == their_org:
        raise SecureSumError("a participant has no mask with itself")
    try:
        shared = crypto_scalarmult(bytes(my_key), bytes(their_key))
    except Exception as exc:  # libsodium refuses a low-order point (all-zero secret)
        raise SecureSumError("key agreement failed") from exc
    context = json.dumps([query_id, *sorted((my_org, their_org))], separators=(",", ":"))
    return hashlib.blake2b(context.encode(), digest_size=32, key=shared, person=_PERSON).digest()


def expand_mask(seed: bytes, cells: int) -> list[int]:
    """``cells`` pseudo-random 64-bit integers from ``seed``."""
    if cells < 0:
        raise SecureSumError("a vector cannot have a negative length")
    stream = randombytes_buf_deterministic(8 * cells, seed)
    return list(struct.unpack(f"<{cells}Q", stream))


def masked_vector(
    values: Sequence[int],
    *,
    me: str,
    my_key: PrivateKey,
    participants: Mapping[str, PublicKey],
    query_id: str,
) -> list[int]:
    """This participant's contribution: its counts plus its pairwise masks, mod 2**64.

    ``participants`` maps every participant's org id (this one included) to its
    X25519 public key, as fixed in the query's first round.
    """
    if me not in participants:
        raise SecureSumError("this node is not among the participants")
    if len(participants) < MIN_PARTICIPANTS:
        raise SecureSumError(f"secure summation needs at least {MIN_PARTICIPANTS} participants")
    for value in values:
        if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < MAX_COUNT:
            raise SecureSumError("counts must be integers within 0..2**62")
    total = list(values)
    for other in sorted(participants):
        if other == me:
            continue
        seed = pair_seed(
            my_key=my_key,
            my_org=me,
            their_key=participants[other],
            their_org=other,
            query_id=query_id,
        )
        mask = expand_mask(seed, len(total))
        sign = 1 if me < other else -1
        total = [(t + sign * m) % MODULUS for t, m in zip(total, mask, strict=True)]
    return total


def check_vector(vector: Sequence[int], cells: int) -> list[int]:
    """``vector`` if it has ``cells`` integers in 0..2**64-1; ``SecureSumError`` otherwise."""
    if len(vector) != cells:
        raise SecureSumError(f"expected {cells} cells, got {len(vector)}")
    for value in vector:
        if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < MODULUS:
            raise SecureSumError("a masked cell is not a 64-bit unsigned integer")
    return list(vector)


def unmask_sum(vectors: Iterable[Sequence[int]], cells: int) -> list[int]:
    """The totals from every participant's masked vector (all of them, or it fails).

    A missing or altered vector leaves masks that do not cancel; the result is then
    almost surely far above any real count, which is refused rather than published.
    """
    total = [0] * cells
    for vector in vectors:
        checked = check_vector(vector, cells)
        total = [(t + v) % MODULUS for t, v in zip(total, checked, strict=True)]
    if any(t >= MAX_COUNT for t in total):
        raise SecureSumError("the masks did not cancel: a contribution is missing or altered")
    return total


def plain_sum(vectors: Iterable[Sequence[int]], cells: int) -> list[int]:
    """The unprotected sum (for the benchmark's comparison only)."""
    total = [0] * cells
    for vector in vectors:
        total = [t + v for t, v in zip(total, vector, strict=True)]
    return total

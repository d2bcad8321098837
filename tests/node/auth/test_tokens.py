"""Staff tokens: signed by the node, bound to it, short-lived; pseudonyms are stable."""

from __future__ import annotations

import time

import pytest
from hypothesis import given
from hypothesis import strategies as st

from federation.errors import NotAuthenticated
from federation.jose import sign_jwt
from federation.keys import MemberKeys
from node.auth.tokens import (
    STAFF_TOKEN_TYP,
    issue_staff_token,
    staff_pseudonym,
    verify_staff_token,
)

KEYS = MemberKeys.generate()
OTHER_KEYS = MemberKeys.generate()


def _token(**overrides: object) -> str:
    args: dict[str, object] = {
        "staff_id": 7,
        "role": "frontline",
        "org_id": "council-a",
        "keys": KEYS,
        "ttl_s": 900,
    }
    args.update(overrides)
    return issue_staff_token(**args)  # type: ignore[arg-type]


@given(
    staff_id=st.integers(min_value=1, max_value=2**31 - 1),
    role=st.sampled_from(["frontline", "admin"]),
)
def test_token_round_trip_keeps_the_claims(staff_id: int, role: str) -> None:
    claims = verify_staff_token(_token(staff_id=staff_id, role=role), org_id="council-a", keys=KEYS)
    assert claims["sub"] == str(staff_id)
    assert claims["role"] == role
    assert claims["iss"] == claims["aud"] == "council-a"
    assert claims["exp"] - claims["iat"] == 900
    assert claims["pseudonym"] == staff_pseudonym(staff_id, KEYS)


def test_expired_token_is_refused() -> None:
    token = _token(now=time.time() - 1000)
    with pytest.raises(NotAuthenticated, match="expired"):
        verify_staff_token(token, org_id="council-a", keys=KEYS)


def test_token_for_another_node_is_refused() -> None:
    token = _token(org_id="gp-b")
    with pytest.raises(NotAuthenticated, match="not issued for this node"):
        verify_staff_token(token, org_id="council-a", keys=KEYS)


def test_token_signed_by_another_key_is_refused() -> None:
    token = _token(keys=OTHER_KEYS)
    with pytest.raises(NotAuthenticated, match="rejected"):
        verify_staff_token(token, org_id="council-a", keys=KEYS)


def test_tampered_token_is_refused() -> None:
    head, payload, signature = _token().split(".")
    flipped = payload[:-2] + ("A" if payload[-2] != "A" else "B") + payload[-1]
    with pytest.raises(NotAuthenticated):
        verify_staff_token(f"{head}.{flipped}.{signature}", org_id="council-a", keys=KEYS)


def test_other_jwt_types_signed_by_the_node_are_not_staff_tokens() -> None:
    now = int(time.time())
    claims = {
        "iss": "council-a",
        "aud": "council-a",
        "sub": "1",
        "role": "admin",
        "pseudonym": "x",
        "iat": now,
        "exp": now + 60,
    }
    token = sign_jwt(claims, KEYS.signing_key, typ="joinedup-request+jwt")
    with pytest.raises(NotAuthenticated):
        verify_staff_token(token, org_id="council-a", keys=KEYS)
    assert (
        verify_staff_token(
            sign_jwt(claims, KEYS.signing_key, typ=STAFF_TOKEN_TYP), org_id="council-a", keys=KEYS
        )["role"]
        == "admin"
    )


@pytest.mark.parametrize("garbage", ["", "abc", "a.b.c", "e30.e30.", "x" * 5000])
def test_garbage_is_not_authenticated(garbage: str) -> None:
    with pytest.raises(NotAuthenticated):
        verify_staff_token(garbage, org_id="council-a", keys=KEYS)


def test_pseudonym_is_stable_per_node_and_differs_between_nodes() -> None:
    assert staff_pseudonym(1, KEYS) == staff_pseudonym(1, KEYS)
    assert staff_pseudonym(1, KEYS) != staff_pseudonym(2, KEYS)
    assert staff_pseudonym(1, KEYS) != staff_pseudonym(1, OTHER_KEYS)
    assert len(staff_pseudonym(1, KEYS)) == 16

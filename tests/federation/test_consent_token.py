import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from federation.consent_token import (
    CONSENT_TOKEN_TYP,
    ConsentProvisionClaim,
    RevocationSet,
    consent_policy_input,
    issue_consent_token,
    verify_consent_token,
)
from federation.errors import ConsentInvalid
from federation.jose import read_unverified_claims, sign_jwt
from federation.keys import MemberKeys
from federation.vocabulary import load_vocabulary


def _provision(consent_id="cns_1", **overrides):
    fields = {
        "consent_id": consent_id,
        "purposes": ["care_coordination"],
        "recipients": ["council"],
        "categories": ["housing"],
        "actions": ["read"],
        "period_end": None,
    }
    fields.update(overrides)
    return ConsentProvisionClaim(**fields)


def _issue(federation, **overrides):
    args = {
        "keys": federation.keys["consent"],
        "subject_id": "sub_1",
        "requester": "council",
        "purpose": "care_coordination",
        "provisions": [_provision()],
    }
    args.update(overrides)
    return issue_consent_token(**args)


def _verify(federation, token, **overrides):
    args = {
        "verify_keys": federation.registry.verify_keys("consent"),
        "requester": "council",
    }
    args.update(overrides)
    return verify_consent_token(token, **args)


def test_valid_token_lists_its_provisions(federation):
    claims = _verify(
        federation, _issue(federation), subject_id="sub_1", purpose="care_coordination"
    )
    assert claims.subject_id == "sub_1"
    assert claims.requester == "council"
    assert claims.max_age == 30
    assert claims.expires_at - claims.issued_at == 30
    assert [p.consent_id for p in claims.provisions] == ["cns_1"]


def test_empty_provisions_is_a_valid_no_consent_token(federation):
    claims = _verify(federation, _issue(federation, provisions=[]))
    assert claims.provisions == []
    assert consent_policy_input(claims) == {"valid": True, "provisions": []}


def test_policy_input_for_a_failed_verification_is_invalid():
    assert consent_policy_input(None) == {"valid": False, "provisions": []}


def test_expired_token_is_rejected(federation):
    issued = time.time() - 100
    token = _issue(federation, now=issued)
    with pytest.raises(ConsentInvalid, match="expired"):
        _verify(federation, token)


def test_token_is_rejected_from_its_expiry_time_on(federation):
    # RFC 7519 4.1.4: "on or after" the expiry time the token is not accepted.
    token = _issue(federation, now=1_000_000, max_age_s=30)
    assert _verify(federation, token, now=1_000_029).expires_at == 1_000_030
    with pytest.raises(ConsentInvalid, match="expired"):
        _verify(federation, token, now=1_000_030)


def test_token_from_the_future_is_rejected(federation):
    token = _issue(federation, now=time.time() + 60)
    with pytest.raises(ConsentInvalid, match="future"):
        _verify(federation, token)


def test_tampered_token_is_rejected(federation):
    token = _issue(federation)
    header, payload, signature = token.split(".")
    flipped = payload[:-2] + ("A" if payload[-2] != "A" else "B") + payload[-1]
    with pytest.raises(ConsentInvalid):
        _verify(federation, f"{header}.{flipped}.{signature}")


def test_token_signed_by_another_member_is_rejected(federation):
    token = _issue(federation, keys=federation.keys["council"])
    with pytest.raises(ConsentInvalid, match="does not verify"):
        _verify(federation, token)


def test_token_with_wrong_typ_is_rejected(federation):
    claims = read_unverified_claims(_issue(federation))
    forged = sign_jwt(claims, federation.keys["consent"].signing_key, typ="JWT")
    with pytest.raises(ConsentInvalid):
        _verify(federation, forged)


def test_token_with_wrong_issuer_claim_is_rejected(federation):
    claims = read_unverified_claims(_issue(federation))
    claims["iss"] = "council"
    forged = sign_jwt(claims, federation.keys["consent"].signing_key, typ=CONSENT_TOKEN_TYP)
    with pytest.raises(ConsentInvalid, match="consent service"):
        _verify(federation, forged)


def test_token_with_overlong_lifetime_is_rejected(federation):
    claims = read_unverified_claims(_issue(federation))
    claims["exp"] = claims["iat"] + 3600
    claims["max_age"] = 3600
    forged = sign_jwt(claims, federation.keys["consent"].signing_key, typ=CONSENT_TOKEN_TYP)
    with pytest.raises(ConsentInvalid, match="lifetime"):
        _verify(federation, forged)


def test_token_with_missing_claims_is_rejected(federation):
    claims = read_unverified_claims(_issue(federation))
    del claims["provisions"]
    forged = sign_jwt(claims, federation.keys["consent"].signing_key, typ=CONSENT_TOKEN_TYP)
    with pytest.raises(ConsentInvalid, match="incomplete"):
        _verify(federation, forged)


@pytest.mark.parametrize(
    ("overrides", "reason"),
    [
        ({"requester": "gp"}, "another organisation"),
        ({"subject_id": "sub_2"}, "another subject"),
        ({"purpose": "safeguarding"}, "another purpose"),
    ],
)
def test_token_for_someone_else_is_rejected(federation, overrides, reason):
    with pytest.raises(ConsentInvalid, match=reason):
        _verify(federation, _issue(federation), **overrides)


def test_token_covering_a_revoked_consent_is_rejected(federation):
    token = _issue(federation, provisions=[_provision("cns_1"), _provision("cns_2")])
    revocations = RevocationSet()
    assert len(_verify(federation, token, revocations=revocations).provisions) == 2
    revocations.add("cns_2", int(time.time()))
    with pytest.raises(ConsentInvalid, match="revoked"):
        _verify(federation, token, revocations=revocations)


def test_provision_past_its_period_end_is_dropped(federation):
    now = 2_000_000
    token = _issue(
        federation,
        now=now,
        provisions=[_provision("cns_old", period_end=now - 1), _provision("cns_live")],
    )
    claims = _verify(federation, token, now=now)
    assert [p.consent_id for p in claims.provisions] == ["cns_live"]


def test_issue_refuses_an_out_of_range_max_age(federation):
    with pytest.raises(ValueError, match="max age"):
        _issue(federation, max_age_s=301)


def test_revocation_set_keeps_the_latest_change_and_refuses_tokens_up_to_it():
    revocations = RevocationSet([("cns_1", 50)])
    revocations.add("cns_1", 100)  # amended again later
    revocations.add("cns_1", 10)  # an old push arriving late changes nothing
    assert revocations.revoked_at("cns_1") == 100
    assert revocations.refuses("cns_1", issued_at=100)
    assert not revocations.refuses("cns_1", issued_at=101)
    assert not revocations.refuses("cns_2", issued_at=0)
    assert "cns_1" in revocations
    assert "cns_2" not in revocations
    assert len(revocations) == 1


def test_a_token_issued_before_an_amendment_is_refused_and_one_after_is_accepted(federation):
    # The consent service pushes "cns_1 changed at T" when a consent is narrowed.
    narrowed = RevocationSet([("cns_1", 2_000_010)])
    before = _issue(federation, now=2_000_005, provisions=[_provision("cns_1")])
    after = _issue(federation, now=2_000_011, provisions=[_provision("cns_1")])
    with pytest.raises(ConsentInvalid, match="revoked or narrowed"):
        _verify(federation, before, now=2_000_012, revocations=narrowed)
    assert _verify(federation, after, now=2_000_012, revocations=narrowed).provisions


VOCABULARY = load_vocabulary()
PURPOSES = list(VOCABULARY.purposes)
CATEGORIES = list(VOCABULARY.categories)
ACTIONS = list(VOCABULARY.actions)
_ids = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789_", min_size=1, max_size=24)
_provisions = st.builds(
    ConsentProvisionClaim,
    consent_id=_ids.map(lambda s: f"cns_{s}"),
    purposes=st.lists(st.sampled_from(PURPOSES), min_size=1, unique=True),
    recipients=st.lists(st.sampled_from(["council", "gp", "police"]), min_size=1, unique=True),
    categories=st.lists(st.sampled_from(CATEGORIES), min_size=1, unique=True),
    actions=st.lists(st.sampled_from(ACTIONS), min_size=1, unique=True),
    period_end=st.none() | st.integers(min_value=3_000_000, max_value=2**40),
)


@settings(max_examples=40, deadline=None)
@given(
    subject=_ids,
    purpose=st.sampled_from(PURPOSES),
    provisions=st.lists(_provisions, max_size=6),
    max_age=st.integers(min_value=1, max_value=300),
    issued=st.integers(min_value=1_000_000, max_value=2_000_000),
)
def test_issue_then_verify_round_trips(federation, subject, purpose, provisions, max_age, issued):
    token = _issue(
        federation,
        subject_id=subject,
        purpose=purpose,
        provisions=provisions,
        max_age_s=max_age,
        now=issued,
    )
    claims = _verify(
        federation, token, subject_id=subject, purpose=purpose, now=issued + max_age - 1
    )
    assert claims.provisions == provisions
    assert (claims.issued_at, claims.expires_at, claims.max_age) == (
        issued,
        issued + max_age,
        max_age,
    )


@settings(max_examples=40, deadline=None)
@given(position=st.integers(min_value=0), replacement=st.sampled_from("AQgw_-"))
def test_any_single_character_change_is_rejected(federation, position, replacement):
    token = _issue(federation, now=1_500_000)
    index = position % len(token)
    if token[index] == "." or token[index] == replacement:
        return
    tampered = token[:index] + replacement + token[index + 1 :]
    try:
        claims = _verify(federation, tampered, now=1_500_000)
    except ConsentInvalid:
        return
    # Base64url's last character may carry unused bits; decoding to the same bytes
    # is not a forgery, so the claims must be exactly the original ones.
    assert claims == _verify(federation, token, now=1_500_000)


def test_unused_member_keys_do_not_verify(federation):
    stranger = MemberKeys.generate()
    with pytest.raises(ConsentInvalid):
        _verify(federation, _issue(federation), verify_keys=[stranger.verify_key])


def test_fast_verifier_agrees_with_the_jose_library(federation):
    from federation.jose import verify_jwt

    token = _issue(federation)
    claims = verify_jwt(token, federation.registry.verify_keys("consent"), typ=CONSENT_TOKEN_TYP)
    verified = _verify(federation, token)
    assert verified.token_id == claims["jti"]
    assert [p.model_dump() for p in verified.provisions] == claims["provisions"]


@pytest.mark.parametrize(
    "token",
    [None, 42, "", "a.b", "a.b.c.d", "!!!.@@@.###", "x" * 200_001],
    ids=["none", "int", "empty", "two-parts", "four-parts", "not-base64", "huge"],
)
def test_malformed_tokens_are_consent_invalid(federation, token):
    with pytest.raises(ConsentInvalid):
        _verify(federation, token)


def test_a_critical_header_is_refused(federation):
    import json

    from federation.keys import b64encode

    token = _issue(federation)
    _, payload, _ = token.split(".")
    header = b64encode(
        json.dumps({"alg": "Ed25519", "typ": CONSENT_TOKEN_TYP, "crit": ["exp"]}).encode()
    )
    signature = federation.keys["consent"].signing_key.sign(f"{header}.{payload}".encode())
    forged = f"{header}.{payload}.{b64encode(signature.signature)}"
    with pytest.raises(ConsentInvalid, match="header"):
        _verify(federation, forged)


def test_lost_push_is_bounded_by_max_age(federation):
    # No revocation ever arrived at this node: the token still dies at exp.
    token = _issue(federation, now=3_000_000, max_age_s=30)
    assert _verify(federation, token, now=3_000_029, revocations=RevocationSet()).provisions
    with pytest.raises(ConsentInvalid, match="expired"):
        _verify(federation, token, now=3_000_031, revocations=RevocationSet())

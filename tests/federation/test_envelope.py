import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from federation.envelope import (
    ReplayCache,
    open_response,
    seal_response,
    sign_request,
    verify_request,
)
from federation.errors import (
    PeerSignatureInvalid,
    RequestExpired,
    RequestReplayed,
    SealedResponseInvalid,
    UnknownMember,
    WrongAudience,
)
from federation.keys import MemberKeys
from tests.fixtures.wire import unchecked


def _request(federation, **overrides):
    args = {"keys": federation.keys["council"], "issuer": "council", "audience": "gp"}
    args.update(overrides)
    return sign_request(
        unchecked("share", {"subject_id": "sub_1", "purpose": "care_coordination"}), **args
    )


def test_valid_request_verifies(federation):
    verified = verify_request(
        _request(federation),
        registry=federation.registry,
        audience="gp",
        replay_cache=ReplayCache(),
        expected_action="share",
    )
    assert verified.issuer == "council"
    assert verified.body["subject_id"] == "sub_1"


def test_replayed_request_is_rejected(federation):
    token, cache = _request(federation), ReplayCache()
    verify_request(token, registry=federation.registry, audience="gp", replay_cache=cache)
    with pytest.raises(RequestReplayed):
        verify_request(token, registry=federation.registry, audience="gp", replay_cache=cache)


def test_forged_signature_is_rejected(federation):
    token = _request(federation, keys=MemberKeys.generate())
    with pytest.raises(PeerSignatureInvalid):
        verify_request(
            token, registry=federation.registry, audience="gp", replay_cache=ReplayCache()
        )


def test_wrong_audience_is_rejected(federation):
    with pytest.raises(WrongAudience):
        verify_request(
            _request(federation),
            registry=federation.registry,
            audience="police",
            replay_cache=ReplayCache(),
        )


def test_expired_request_is_rejected(federation):
    token = _request(federation, now=time.time() - 120)
    with pytest.raises(RequestExpired):
        verify_request(
            token, registry=federation.registry, audience="gp", replay_cache=ReplayCache()
        )


def test_non_member_is_rejected(federation):
    token = _request(federation, issuer="stranger", keys=MemberKeys.generate())
    with pytest.raises(UnknownMember):
        verify_request(
            token, registry=federation.registry, audience="gp", replay_cache=ReplayCache()
        )


def test_request_lifetime_over_60_s_cannot_be_made(federation):
    with pytest.raises(ValueError, match="lifetime"):
        _request(federation, ttl_s=61)


def _sealed(federation, body):
    return seal_response(
        keys=federation.keys["gp"],
        issuer="gp",
        audience="council",
        request_id="r1",
        body=body,
        recipient_key=federation.registry.public_key("council"),
    )


@settings(max_examples=30, deadline=None)
@given(body=st.dictionaries(st.text(max_size=8), st.text(max_size=40) | st.integers(), max_size=6))
def test_sealed_response_round_trips(federation, body):
    opened = open_response(
        _sealed(federation, body),
        registry=federation.registry,
        keys=federation.keys["council"],
        me="council",
        expected_issuer="gp",
        request_id="r1",
    )
    assert opened == body


def test_sealed_body_is_not_readable_by_others(federation):
    token = _sealed(federation, {"secret": "needs"})
    assert "needs" not in token
    with pytest.raises(SealedResponseInvalid):
        open_response(
            token,
            registry=federation.registry,
            keys=federation.keys["police"],
            me="council",
            expected_issuer="gp",
            request_id="r1",
        )


def test_tampered_sealed_response_is_rejected(federation):
    token = _sealed(federation, {"needs": []})
    header, payload, signature = token.split(".")
    tampered = f"{header}.{payload[:-4]}AAAA.{signature}"
    with pytest.raises(SealedResponseInvalid):
        open_response(
            tampered,
            registry=federation.registry,
            keys=federation.keys["council"],
            me="council",
            expected_issuer="gp",
            request_id="r1",
        )


def test_response_to_another_request_is_rejected(federation):
    with pytest.raises(SealedResponseInvalid, match="another request"):
        open_response(
            _sealed(federation, {}),
            registry=federation.registry,
            keys=federation.keys["council"],
            me="council",
            expected_issuer="gp",
            request_id="r2",
        )


def test_signed_deadline_reaches_the_receiver_and_says_when_the_sender_gave_up(federation):
    now = float(int(time.time()))
    token = _request(federation, now=now, deadline=now + 2.0004)
    verified = verify_request(
        token,
        registry=federation.registry,
        audience="gp",
        replay_cache=ReplayCache(),
        now=now + 1,
    )
    assert verified.deadline == now + 2.0  # millisecond precision on the wire
    assert not verified.past_deadline(now + 2.4)  # within DEADLINE_SKEW_S of clock difference
    assert verified.past_deadline(now + 2.6)


def test_request_without_deadline_is_never_past_it(federation):
    verified = verify_request(
        _request(federation),
        registry=federation.registry,
        audience="gp",
        replay_cache=ReplayCache(),
    )
    assert verified.deadline is None
    assert not verified.past_deadline(time.time() + 3600)


@pytest.mark.parametrize("deadline", ["soon", True, None, [1]])
def test_malformed_deadline_claim_is_refused(federation, deadline):
    from federation.jose import sign_jwt

    issued = int(time.time())
    claims = {
        "iss": "council",
        "aud": "gp",
        "iat": issued,
        "exp": issued + 30,
        "jti": f"bad-deadline-{deadline!r}",
        "act": "share",
        "body": {},
        "deadline": deadline,
    }
    token = sign_jwt(claims, federation.keys["council"].signing_key, typ="joinedup-request+jwt")
    if deadline is None:  # an explicit null is the same as no deadline
        verify_request(
            token, registry=federation.registry, audience="gp", replay_cache=ReplayCache()
        )
        return
    with pytest.raises(PeerSignatureInvalid, match="claims incomplete"):
        verify_request(
            token, registry=federation.registry, audience="gp", replay_cache=ReplayCache()
        )


def test_a_deadline_must_be_a_finite_time():
    with pytest.raises(ValueError, match="finite"):
        sign_request(
            unchecked("share", {}),
            keys=MemberKeys.generate(),
            issuer="council",
            audience="gp",
            deadline=float("inf"),
        )

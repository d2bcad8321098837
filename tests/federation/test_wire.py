"""federation.wire: one model per signed action, read back exactly as it was sent.

The worked examples of docs/protocol.md are the bodies members send today; every
action must have one, and each model must rebuild it byte for byte (the wire does
not change) and survive sign → verify → ``from_body``.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, ClassVar

import pytest
from pydantic import ValidationError

from federation.envelope import ReplayCache, sign_request, verify_request
from federation.errors import ValidationFailed
from federation.jose import read_unverified_claims, read_unverified_header
from federation.share_schema import ShareRequestBody
from federation.wire import MalformedMessage, WireMessage, actions, message_for
from federation.wire.audit import AuditTrace
from federation.wire.notice import NOTICE_EXAMPLE, NoticeCreate
from federation.wire.revocation import RevocationPush

DOC = Path(__file__).resolve().parents[2] / "docs" / "protocol.md"
JWS = re.compile(r"eyJ[A-Za-z0-9_-]+\.eyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+")


def _documented_bodies() -> dict[str, dict[str, Any]]:
    """``act`` → ``body`` of every signed request printed in docs/protocol.md."""
    found: dict[str, dict[str, Any]] = {}
    for token in JWS.findall(DOC.read_text()):
        if read_unverified_header(token).get("typ") == "joinedup-request+jwt":
            claims = read_unverified_claims(token)
            found.setdefault(claims["act"], claims["body"])
    return found


DOCUMENTED = _documented_bodies()


def test_every_documented_action_has_a_model() -> None:
    assert set(DOCUMENTED) <= set(actions())


@pytest.mark.parametrize("action", sorted(actions()))
def test_each_model_round_trips_through_sign_verify_and_from_body(federation, action) -> None:
    model = message_for(action)
    documented = DOCUMENTED.get(action)
    if documented is None:  # only a message with nothing to say needs no worked example
        assert not any(f.is_required() for f in model.model_fields.values()), (
            f"{action}: no worked example in docs/protocol.md (docs/examples/protocol_examples.py)"
        )
        documented = model().body()
    message = model.from_body(documented)
    assert message.body() == documented  # the model rebuilds today's body exactly
    token = sign_request(message, keys=federation.keys["council"], issuer="council", audience="gp")
    verified = verify_request(
        token,
        registry=federation.registry,
        audience="gp",
        replay_cache=ReplayCache(),
        expected_action=action,
    )
    assert verified.action == model.action == action
    assert verified.body == documented
    assert model.from_body(verified.body) == message


def test_a_body_that_does_not_fit_its_model_is_a_422_problem_naming_where() -> None:
    with pytest.raises(MalformedMessage, match=r"^revoke: revoked_at: ") as caught:
        RevocationPush.from_body({"consent_id": "cns_1", "subject_id": "sub_1", "revoked_at": "x"})
    assert isinstance(caught.value, ValidationFailed)
    assert caught.value.status_code == 422


@pytest.mark.parametrize("body", [None, [], "share", 5])
def test_a_body_that_is_not_an_object_is_malformed(body) -> None:
    with pytest.raises(MalformedMessage):
        ShareRequestBody.from_body(body)


def test_a_field_the_protocol_does_not_have_is_refused_where_it_always_was() -> None:
    with pytest.raises(MalformedMessage, match="smuggled"):
        NoticeCreate.from_body({**NOTICE_EXAMPLE, "smuggled": "x"})
    # Receivers that ignored unknown keys still do (an older or newer peer).
    assert AuditTrace.from_body({"request_id": "view_1", "later": 1}).body() == {
        "request_id": "view_1"
    }


def test_a_sender_cannot_build_a_malformed_message() -> None:
    with pytest.raises(ValidationError):
        RevocationPush(consent_id="cns 1", subject_id="sub_1", revoked_at=-1)


def test_the_share_body_keeps_its_null_fields_and_others_drop_them() -> None:
    share = ShareRequestBody(
        subject_id="sub_1",
        purpose="care_coordination",
        staff_role="coordinator",
        staff_pseudonym="stf_1",
    ).body()
    assert share["emergency"] is None
    assert share["consent_token"] is None
    assert AuditTrace(request_id="view_1").body() == {"request_id": "view_1"}


def test_an_unknown_action_has_no_model() -> None:
    with pytest.raises(KeyError):
        message_for("no_such_action")


def test_two_models_cannot_claim_one_action() -> None:
    with pytest.raises(TypeError, match="revoke"):

        class AnotherPush(WireMessage):  # noqa: F841
            action: ClassVar[str] = "revoke"


def test_a_model_extended_by_its_receiver_keeps_the_action_s_model() -> None:
    from consent.tokens.schemas import ConsentTokenRequest

    assert message_for("consent_token") is not ConsentTokenRequest
    assert issubclass(ConsentTokenRequest, message_for("consent_token"))

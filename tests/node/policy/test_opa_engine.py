"""OpaServerEngine against a real HTTP server speaking OPA's Data API on loopback.

A contract test: tests/policies/opa_contract_server.py implements OPA's
documented Data API over the same policies (no OPA binary can be installed here).
Every way the server can fail must become a denial with a reason.
"""

import socket
from collections.abc import Iterator

import pytest

from node.policy import build_policy_engine
from node.policy.engine import DEFAULT_POLICY_DIR
from node.policy.opa import OpaServerEngine
from tests.policies.opa_contract_server import OpaContractServer, running_opa_contract_server


@pytest.fixture(scope="module")
def server() -> Iterator[OpaContractServer]:
    with running_opa_contract_server(DEFAULT_POLICY_DIR) as running:
        yield running


@pytest.fixture
def opa(server: OpaContractServer) -> Iterator[OpaServerEngine]:
    server.mode = "normal"
    yield OpaServerEngine(server.url, timeout_s=2.0)
    server.mode = "normal"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_factory_builds_an_opa_engine_that_answers_like_the_embedded_one(server, share_input):
    engine = build_policy_engine(engine="opa", opa_url=server.url, timeout_s=2.0)
    assert isinstance(engine, OpaServerEngine)
    decision = engine.decide("share", share_input)
    assert decision.allow is True
    assert decision == build_policy_engine().decide("share", share_input)


def test_undefined_decision_without_result_key_is_a_denial(opa, server, share_input):
    server.mode = "no_result"
    decision = opa.decide("share", share_input)
    assert decision.allow is False
    assert "undefined" in decision.reasons[0]


@pytest.mark.parametrize(
    ("mode", "phrase"),
    [
        ("error500", "status 500"),
        ("garbage", "not JSON"),
        ("wrong_type", "not an object"),
        ("empty_decision", "no boolean allow"),
    ],
)
def test_server_failures_are_denials(opa, server, share_input, mode, phrase):
    server.mode = mode
    decision = opa.decide("share", share_input)
    assert decision.allow is False
    assert decision.reasons[0].startswith("policy engine error")
    assert phrase in decision.reasons[0]


def test_a_slow_server_times_out_into_a_denial(server, share_input):
    server.mode = "slow"
    server.delay_s = 1.0
    try:
        decision = OpaServerEngine(server.url, timeout_s=0.1).decide("share", share_input)
    finally:
        server.mode = "normal"
    assert decision.allow is False
    assert "did not answer within 0.1 s" in decision.reasons[0]


def test_an_unreachable_server_is_a_denial(share_input):
    decision = OpaServerEngine(f"http://127.0.0.1:{_free_port()}", timeout_s=0.5).decide(
        "share", share_input
    )
    assert decision.allow is False
    assert "OPA unreachable" in decision.reasons[0]


def test_unknown_package_is_refused_without_asking_opa(opa, server, share_input):
    before = server.requests_seen
    decision = opa.decide("../admin", share_input)
    assert decision.allow is False
    assert server.requests_seen == before


def test_input_that_is_not_json_is_a_denial(opa):
    assert opa.decide("share", {"x": object()}).allow is False


def test_the_server_answers_a_bad_body_with_400(server):
    import httpx

    response = httpx.post(f"{server.url}/v1/data/joinedup/share/decision", content=b"{nope")
    assert response.status_code == 400
    assert response.json()["code"] == "invalid_parameter"


def test_reload_keeps_answering(opa, share_input):
    assert opa.decide("share", share_input).allow is True
    opa.reload()
    assert opa.decide("share", share_input).allow is True


@pytest.mark.parametrize("url", ["ftp://x:1", "127.0.0.1:8181", "http://"])
def test_a_bad_opa_url_is_refused(url):
    with pytest.raises(ValueError, match="OPA url"):
        OpaServerEngine(url)

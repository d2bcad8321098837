"""Engines shared by the policy-case tests: embedded (each Rego implementation), and
OPA over a contract server."""

from collections.abc import Iterator

import pytest

from node.policy.embedded import REGO_NAMES, EmbeddedRegoEngine
from node.policy.engine import DEFAULT_POLICY_DIR
from node.policy.opa import OpaServerEngine
from tests.policies.opa_contract_server import OpaContractServer, running_opa_contract_server


@pytest.fixture(scope="session")
def embedded_engines() -> dict[str, EmbeddedRegoEngine]:
    engines = {
        rego: EmbeddedRegoEngine(DEFAULT_POLICY_DIR, rego=rego, cache_size=0) for rego in REGO_NAMES
    }
    assert all(engine.load_error is None for engine in engines.values())
    return engines


@pytest.fixture(scope="session", params=REGO_NAMES)
def embedded_engine(
    request: pytest.FixtureRequest, embedded_engines: dict[str, EmbeddedRegoEngine]
) -> EmbeddedRegoEngine:
    return embedded_engines[request.param]


@pytest.fixture(scope="session")
def opa_server() -> Iterator[OpaContractServer]:
    with running_opa_contract_server(DEFAULT_POLICY_DIR) as server:
        yield server


@pytest.fixture(scope="session")
def opa_engine(opa_server: OpaContractServer) -> OpaServerEngine:
    return OpaServerEngine(opa_server.url, timeout_s=5.0)

"""Engines shared by the policy-case tests: embedded, and OPA over a contract server."""

from collections.abc import Iterator

import pytest

from node.policy.embedded import EmbeddedRegoEngine
from node.policy.engine import DEFAULT_POLICY_DIR
from node.policy.opa import OpaServerEngine
from tests.policies.opa_contract_server import OpaContractServer, running_opa_contract_server


@pytest.fixture(scope="session")
def embedded_engine() -> EmbeddedRegoEngine:
    engine = EmbeddedRegoEngine(DEFAULT_POLICY_DIR)
    assert engine.load_error is None
    return engine


@pytest.fixture(scope="session")
def opa_server() -> Iterator[OpaContractServer]:
    with running_opa_contract_server(DEFAULT_POLICY_DIR) as server:
        yield server


@pytest.fixture(scope="session")
def opa_engine(opa_server: OpaContractServer) -> OpaServerEngine:
    return OpaServerEngine(opa_server.url, timeout_s=5.0)

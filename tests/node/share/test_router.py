"""A node outside any federation runs for its staff but refuses partner requests (503)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from federation.envelope import sign_request
from federation.keys import MemberKeys
from tests.fixtures.servers import RunningServer, ServerSpec, uvicorn_process
from tests.fixtures.wire import unchecked

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def lone_node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    data_dir: Path = tmp_path_factory.mktemp("lone")
    spec = ServerSpec(
        name="lone-node",
        factory="node.main:create_app_from_env",
        env={
            "JOINEDUP_NODE_ORG_ID": "lone-node",
            "JOINEDUP_NODE_DATA_DIR": str(data_dir),
            "JOINEDUP_NODE_LOG_JSON": "false",
        },
    )
    with uvicorn_process(spec, data_dir / "logs") as server:
        yield server


@pytest.mark.parametrize(
    ("path", "action"), [("/federation/share", "share"), ("/federation/link", "link")]
)
def test_partner_endpoints_answer_not_in_a_federation(
    lone_node: RunningServer, path: str, action: str
) -> None:
    token = sign_request(
        unchecked(action, {}), keys=MemberKeys.generate(), issuer="council", audience="lone-node"
    )
    response = httpx.post(f"{lone_node.base_url}{path}", json={"request": token}, timeout=10)
    assert response.status_code == 503
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.json()["type"].endswith("/not-in-federation")
    assert httpx.get(f"{lone_node.base_url}/health", timeout=10).status_code == 200

"""Property-based fuzzing of the node's own API: no input gives a 500.

schemathesis generates requests (valid and invalid) from the OpenAPI schema of a
real node process and sends them with a front-line worker's token, so the records
handlers run for real. Every answer must be below 500, and every 4xx must be
problem+json (DESIGN "Non-functional bars"). Scoped to the records, auth, staff and
health operations; the federation endpoints are fuzzed by their own tests.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings

from node.db import make_engine, upgrade_database
from tests.fixtures.auth import bearer, login, make_staff
from tests.fixtures.servers import RunningServer, ServerSpec, uvicorn_process

pytestmark = pytest.mark.e2e

GUIDE_PATHS = r"^/guide/"
OWN_PATHS = r"^/(persons|needs|actions|contacts|staff)(/\{[a-z_]+\})?$|^/auth/(token|me)$|^/health$"


@pytest.fixture(scope="module")
def fuzz_node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[RunningServer, str]]:
    data_dir = tmp_path_factory.mktemp("fuzz-node")
    url = f"sqlite:///{data_dir}/node.db"
    engine = make_engine(url)
    upgrade_database(engine)
    make_staff(engine, role="frontline", username="fuzzer")
    make_staff(engine, role="admin", username="fuzz-admin")
    engine.dispose()
    spec = ServerSpec(
        name="fuzz-node",
        factory="node.main:create_app_from_env",
        env={
            "JOINEDUP_NODE_ORG_ID": "fuzz-node",
            "JOINEDUP_NODE_DATA_DIR": str(data_dir),
            "JOINEDUP_NODE_LINKAGE_KEY": "fuzzing-linkage-secret-0123456789",
        },
    )
    with uvicorn_process(spec, Path(data_dir) / "logs") as server:
        yield server, login(server.base_url, "fuzzer")


def _fuzz(server: RunningServer, token: str, path_regex: str, at_least: int) -> None:
    schema = schemathesis.openapi.from_url(f"{server.base_url}/openapi.json").include(
        path_regex=path_regex
    )
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= at_least
    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(
            max_examples=10,
            deadline=None,
            suppress_health_check=list(HealthCheck),
            derandomize=True,
            database=None,
        )
        def check(case: Any) -> None:
            response = case.call(base_url=server.base_url, headers=bearer(token), timeout=10)
            assert response.status_code < 500, (case.method, case.path, response.text[:300])
            if 400 <= response.status_code < 500:
                content_type = response.headers.get("content-type") or [""]
                assert content_type[0].startswith("application/problem+json"), case.path

        check()


def test_no_input_gives_a_server_error(fuzz_node: tuple[RunningServer, str]) -> None:
    server, token = fuzz_node
    # the records, staff and auth operations are all there
    _fuzz(server, token, OWN_PATHS, at_least=15)


def test_no_guide_input_gives_a_server_error(fuzz_node: tuple[RunningServer, str]) -> None:
    """The needs guide's staff API, as an admin (who may call all of it)."""
    server, _ = fuzz_node
    _fuzz(server, login(server.base_url, "fuzz-admin"), GUIDE_PATHS, at_least=8)

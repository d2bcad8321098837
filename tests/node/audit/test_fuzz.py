"""schemathesis over every audit operation of a real node: no input gives a 500.

Sent with an auditor's token so the handlers run for real (filters, exports,
proofs, verification, traces). This node has no registry, so the partner endpoints
answer 503 "not in a federation" (a problem, by design); their signed-request
handling is exercised in test_federation.py.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from sqlmodel import Session

from node.db import make_engine, upgrade_database
from tests.fixtures.auth import bearer, login, make_staff
from tests.fixtures.servers import RunningServer, ServerSpec, uvicorn_process
from tests.node.audit.conftest import append_entries

pytestmark = pytest.mark.e2e

AUDIT_PATHS = r"^/audit/|^/federation/audit/"


@pytest.fixture(scope="module")
def audit_node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[RunningServer, str]]:
    data_dir = tmp_path_factory.mktemp("fuzz-audit")
    url = f"sqlite:///{data_dir}/node.db"
    engine = make_engine(url)
    upgrade_database(engine)
    make_staff(engine, role="auditor", username="fuzz-auditor")
    with Session(engine) as session:
        append_entries(session, 20)
        session.commit()
    engine.dispose()
    spec = ServerSpec(
        name="fuzz-audit",
        factory="node.main:create_app_from_env",
        env={"JOINEDUP_NODE_ORG_ID": "council-a", "JOINEDUP_NODE_DATA_DIR": str(data_dir)},
    )
    with uvicorn_process(spec, Path(data_dir) / "logs") as server:
        yield server, login(server.base_url, "fuzz-auditor")


def test_no_audit_input_gives_a_server_error(audit_node: tuple[RunningServer, str]) -> None:
    server, token = audit_node
    schema = schemathesis.openapi.from_url(f"{server.base_url}/openapi.json").include(
        path_regex=AUDIT_PATHS
    )
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 11
    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(
            max_examples=8,
            deadline=None,
            suppress_health_check=list(HealthCheck),
            derandomize=True,
            database=None,
        )
        def check(case: Any) -> None:
            response = case.call(base_url=server.base_url, headers=bearer(token), timeout=30)
            # A node outside a federation answers partner endpoints 503 by design.
            not_federated = response.status_code == 503 and case.path.startswith("/federation/")
            assert response.status_code < 500 or not_federated, (
                case.method,
                case.path,
                response.text[:300],
            )
            if response.status_code >= 400:
                content_type = response.headers.get("content-type") or [""]
                assert content_type[0].startswith("application/problem+json"), case.path

        check()

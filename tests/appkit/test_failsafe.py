"""Nothing unexpected reaches the log as a traceback or with personal data (issue 12.2).

A real uvicorn process runs an app with the apps' error plumbing (``appkit.failsafe``,
``appkit.logs``) whose routes raise or log exceptions carrying personal data. Before
the failsafe, Starlette re-raised the exception after answering, and uvicorn wrote
"Exception in ASGI application" with the traceback and the message.
"""

from __future__ import annotations

import gc
import json
from collections.abc import Iterator

import httpx
import pytest

from tests.appkit.failing_app import PERSONAL
from tests.fixtures.servers import RunningServer, ServerSpec, uvicorn_process

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    spec = ServerSpec(name="failing", factory="tests.appkit.failing_app:create_app", env={})
    with uvicorn_process(spec, tmp_path_factory.mktemp("failing")) as running:
        yield running


def log_lines(server: RunningServer) -> list[dict]:
    text = server.log()
    assert "Traceback" not in text
    assert "Okafor" not in text
    assert "1984" not in text
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def test_an_unexpected_error_is_a_500_problem_logged_by_type_only(server: RunningServer) -> None:
    response = httpx.get(f"{server.base_url}/boom", timeout=10)
    assert response.status_code == 500
    assert response.headers["content-type"] == "application/problem+json"
    assert PERSONAL not in response.text
    lines = log_lines(server)
    assert {"exc_type": "ValueError", "route": "/boom"}.items() <= lines[-1].items()


def test_an_exception_logged_with_its_traceback_keeps_only_its_type(
    server: RunningServer,
) -> None:
    assert httpx.get(f"{server.base_url}/logged", timeout=10).status_code == 200
    logged = [line for line in log_lines(server) if line["message"] == "something failed"]
    assert [line["exc_type"] for line in logged] == ["KeyError", "KeyError"]


def test_an_orphaned_task_exception_is_logged_without_its_message(
    server: RunningServer,
) -> None:
    assert httpx.get(f"{server.base_url}/orphan", timeout=10).status_code == 200
    gc.collect()  # (the server collects its own; this only keeps the test honest locally)
    # Another request gives the server's loop a turn to collect the task.
    assert httpx.get(f"{server.base_url}/health", timeout=10).status_code == 200
    log_lines(server)

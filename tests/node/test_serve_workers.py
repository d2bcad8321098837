"""``joinedup node serve --workers 2`` and ``joinedup consent serve --workers 2``: real processes.

The command migrates once, then uvicorn's supervisor runs two worker processes on
one port; both serve (each answers /health from the shared database).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.fixtures.servers import REPO, RunningServer, free_port, wait_ready

pytestmark = pytest.mark.e2e


def children(pid: int) -> list[int]:
    path = Path(f"/proc/{pid}/task/{pid}/children")
    return [int(p) for p in path.read_text().split()] if path.exists() else []


@pytest.mark.parametrize(
    ("command", "extra"),
    [
        (["node", "serve", "--org-id", "council-a"], {}),
        (["consent", "serve"], {"JOINEDUP_CONSENT_DEMO": "true"}),
    ],
    ids=["node", "consent"],
)
def test_serve_with_two_workers_runs_two_processes_on_one_port(
    tmp_path: Path, command: list[str], extra: dict[str, str]
) -> None:
    port = free_port()
    log_path = tmp_path / "serve.log"
    args = [*command, "--data-dir", str(tmp_path), "--port", str(port), "--workers", "2"]
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [str(Path(sys.executable).parent / "joinedup"), *args],
            cwd=REPO,
            env={**os.environ, **extra},
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    server = RunningServer("serve", port, process, log_path)
    try:
        wait_ready(server)
        workers = [pid for pid in children(process.pid) if Path(f"/proc/{pid}").exists()]
        # uvicorn's supervisor may also keep a resource tracker; its workers are the rest.
        assert len(workers) >= 2, server.log()
    finally:
        server.stop()
    assert process.returncode is not None

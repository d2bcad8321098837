"""The supervisor's backoff when a process cannot even be started (no process to kill).

The restart of a real killed process is tested in tests/demo/test_demo.py.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from joinedup.demo.supervisor import Supervisor
from joinedup.localfed import ServerProcess


def _exited(tmp_path: Path) -> ServerProcess:
    process = subprocess.Popen([sys.executable, "-c", "raise SystemExit(3)"])
    process.wait(timeout=30)
    return ServerProcess("gp", 1, process, tmp_path / "gp.log")


def test_a_restart_that_cannot_start_is_retried_later_with_a_longer_wait(tmp_path: Path) -> None:
    now = [0.0]
    attempts: list[str] = []

    def relaunch(name: str) -> ServerProcess:
        attempts.append(name)
        raise OSError("no such file")

    supervisor = Supervisor({"gp": _exited(tmp_path)}, relaunch, clock=lambda: now[0])
    [said] = supervisor.check()
    assert said.startswith("gp stopped unexpectedly (exit code 3); restarting it in 1 s")
    now[0] = 1.0
    assert supervisor.check() == ["gp could not be restarted (no such file); trying again in 2 s"]
    now[0] = 2.9
    assert supervisor.check() == []
    now[0] = 3.0
    assert supervisor.check() == ["gp could not be restarted (no such file); trying again in 4 s"]
    assert attempts == ["gp", "gp"]

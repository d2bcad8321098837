"""docs/joining.md cannot rot: its charity's commands are run as written against the demo.

The demo federation runs (``DemoFederation``, seeded) with its ``demo-data`` folder
in a scratch directory; the shell blocks of the guide's "A small charity on SQLite"
section are joined into one script and run there by bash, with the project's
``.venv/bin`` first on PATH (the guide's ``source .venv/bin/activate``). The only
change made to them: the demo's fixed port numbers become the free ports this run
uses. Then the council's co-ordinator asks for Morgan Sample's joined-up view, and
the new member's need must be in it, released by the new member's own node.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from joinedup.demo.launcher import DemoFederation
from joinedup.localfed import free_port

pytestmark = pytest.mark.e2e

GUIDE = Path(__file__).resolve().parents[2] / "docs" / "joining.md"
SECTION = "## A small charity on SQLite"
NEW_MEMBER = "riverside-foodbank"
COUNCIL = "northdale-council"
MAX_COMMANDS = 10


def charity_script() -> str:
    text = GUIDE.read_text(encoding="utf-8")
    section = text.split(SECTION, 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"```sh\n(.*?)```", section, flags=re.S)
    assert blocks, "no shell blocks in the charity's section"
    return "\n".join(blocks)


def count_commands(script: str) -> int:
    """Commands as a reader counts them: lines that start one (not comments or continuations)."""
    count, continued = 0, False
    for line in script.splitlines():
        stripped = line.strip()
        if stripped and not stripped.startswith("#") and not continued:
            count += 1
        continued = stripped.endswith("\\")
    return count


def test_guide_takes_at_most_ten_commands() -> None:
    assert count_commands(charity_script()) <= MAX_COMMANDS


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DemoFederation]:
    workdir = tmp_path_factory.mktemp("joining")
    with DemoFederation(data_dir=workdir / "demo-data", port_base=None) as running:
        yield running


def port_map(demo: DemoFederation) -> dict[int, int]:
    """The demo's fixed ports (8700 consent, 8701.. the organisations) -> this run's."""
    ports = {8700: int(demo.url("consent").rsplit(":", 1)[1])}
    for offset, org in enumerate(demo.scenario.organisations, start=1):
        ports[8700 + offset] = int(demo.url(org.org_id).rsplit(":", 1)[1])
    ports[8600] = free_port()  # the registry server
    ports[8710] = free_port()  # the new member's node
    return ports


def repoint(script: str, ports: dict[int, int]) -> str:
    """The script with every port after ``127.0.0.1:`` or ``--port`` mapped to this run's."""

    def swap(match: re.Match[str]) -> str:
        port = int(match.group(2))
        assert port in ports, f"the guide uses port {port}, which the test does not know"
        return match.group(1) + str(ports[port])

    return re.sub(r"(127\.0\.0\.1:|--port )(\d{4,5})\b", swap, script)


def test_a_charity_joins_by_following_the_guide(demo: DemoFederation) -> None:
    script = repoint(charity_script(), port_map(demo))
    workdir = demo.data_dir.parent
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    # A file, not a pipe: the background servers keep their output open after bash ends.
    log_path = workdir / "guide.log"
    with log_path.open("wb") as log:
        shell = subprocess.Popen(
            ["bash", "-e", "-o", "pipefail", "-c", script],
            cwd=workdir,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # the guide's background servers share its process group
        )
    try:
        returncode = shell.wait(timeout=300)
        assert returncode == 0, log_path.read_text(errors="replace")
        view = council_view(demo)
    finally:
        # Stop what the guide started in the background (its process group only).
        try:
            os.killpg(shell.pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
    sources = {s["org_id"]: s["status"] for s in view["sources"]}
    assert sources.get(NEW_MEMBER) == "ok", view["sources"]
    needs = [n for group in view["needs"] for n in group["needs"] if n["org_id"] == NEW_MEMBER]
    assert [n["description"] for n in needs] == ["Weekly food parcel while benefits are sorted out"]
    assert needs[0]["category"] == "income"


def council_view(demo: DemoFederation) -> dict[str, object]:
    base = demo.url(COUNCIL)
    assert demo.seed is not None
    token = httpx.post(
        f"{base}/auth/token",
        data={"username": "coordinator", "password": demo.scenario.password},
        timeout=30,
    ).json()["access_token"]
    response = httpx.post(
        f"{base}/views",
        json={"subject_id": demo.seed.subjects["morgan"], "purpose": "care_coordination"},
        headers={"Authorization": f"Bearer {token}"},
        timeout=60,
    )
    assert response.status_code == 200, response.text
    return json.loads(response.text)

"""The demo launcher end to end: real processes, a verified registry, a rich view, reuse.

One module-scoped launch (two cores are shared): the consent service and the five
organisation nodes start on free loopback ports in a temporary data directory and
the scenario is seeded. A second launch on the same directory must reuse the data.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from federation.registry import load_registry
from joinedup.demo.launcher import DemoFederation
from joinedup.demo.scenario import load_scenario
from joinedup.demo.seed import SeedResult, read_seed_result, staff_token
from joinedup.localfed import wait_ready

pytestmark = pytest.mark.e2e

COUNTED = ("persons", "needs", "actions", "contacts")
# The console script's entry point, run with this interpreter.
JOINEDUP = [sys.executable, "-c", "from joinedup.cli import app; app()"]


def _record_counts(demo: DemoFederation) -> dict[str, dict[str, int]]:
    """What each node holds, read back through its records API."""
    scenario = demo.scenario
    counts: dict[str, dict[str, int]] = {}
    with httpx.Client(timeout=10) as client:
        for org in scenario.organisations:
            url = demo.url(org.org_id)
            token = staff_token(client, url, "coordinator", scenario.password)
            headers = {"Authorization": f"Bearer {token}"}
            counts[org.org_id] = {
                kind: client.get(f"{url}/{kind}", params={"limit": 1}, headers=headers).json()[
                    "count"
                ]
                for kind in COUNTED
            }
    return counts


def _view(demo: DemoFederation, subject_id: str) -> dict:
    tour = demo.scenario.tour.view_as
    url = demo.url(tour.org)
    with httpx.Client(timeout=30) as client:
        token = staff_token(client, url, tour.username, demo.scenario.password)
        response = client.post(
            f"{url}/views",
            json={"subject_id": subject_id, "purpose": "care_coordination"},
            headers={"Authorization": f"Bearer {token}"},
        )
    assert response.status_code == 200, response.text
    return response.json()


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("demo-data")


@pytest.fixture(scope="module")
def first_run(data_dir: Path) -> Iterator[tuple[DemoFederation, dict[str, dict[str, int]]]]:
    with DemoFederation(data_dir=data_dir, port_base=None) as demo:
        yield demo, _record_counts(demo)


def test_every_process_answers_health(first_run) -> None:
    demo, _ = first_run
    assert set(demo.servers) == {"consent"} | {o.org_id for o in demo.scenario.organisations}
    for name, server in demo.servers.items():
        response = httpx.get(f"{server.base_url}/health", timeout=5)
        assert response.status_code == 200, name


def test_registry_verifies_and_lists_every_member_at_its_port(first_run) -> None:
    demo, _ = first_run
    fed = demo.federation
    assert fed is not None
    registry = load_registry(fed.registry_path, fed.authority_key.verify_key)
    for spec in fed.members:
        member = registry.member(spec.org_id)
        assert member.base_url == demo.servers[spec.org_id].base_url
        assert member.verify_keys[0] == fed.keys[spec.org_id].verify_key_b64


def test_first_run_seeds_the_scenario(first_run) -> None:
    demo, counts = first_run
    assert demo.seeded_now
    assert demo.seed is not None
    scenario = load_scenario()
    for org_id, records in scenario.records.items():
        assert counts[org_id]["persons"] == len(records)
        assert counts[org_id]["needs"] == sum(len(r.needs) for r in records)
        assert counts[org_id] == demo.seed.counts[org_id]
    assert set(demo.seed.subjects) == {e.person for e in scenario.enrolments}


def test_seeded_subject_view_has_needs_from_at_least_four_organisations(first_run) -> None:
    demo, _ = first_run
    assert demo.seed is not None
    view = _view(demo, demo.seed.subjects[demo.scenario.tour.view_as.person])
    orgs = {need["org_id"] for group in view["needs"] for need in group["needs"]}
    assert len(orgs) >= 4, orgs
    assert all(s["status"] == "ok" for s in view["sources"]), view["sources"]
    assert view["coordinator"]["organisation"] == "Northdale Council"
    assert view["interacting_needs"], "housing and safety needs interact"
    # Existence-hidden categories never show, not even as withheld.
    categories = {g["category"] for g in view["needs"]} | {w["category"] for w in view["withheld"]}
    assert "criminal_justice" not in categories


def test_a_killed_node_is_restarted_with_backoff_while_the_rest_keep_running(first_run) -> None:
    demo, _ = first_run
    now = [0.0]
    supervisor = demo.supervisor(clock=lambda: now[0])
    victim = demo.scenario.organisations[1].org_id
    others = [o.org_id for o in demo.scenario.organisations if o.org_id != victim]
    for expected_delay in (1, 2):  # the second crash in a row waits twice as long
        killed = demo.servers[victim].process
        killed.kill()
        killed.wait(timeout=10)
        [said] = supervisor.check()
        assert said.startswith(f"{victim} stopped unexpectedly (exit code -9); ")
        assert f"restarting it in {expected_delay} s — the rest of the demo keeps running" in said
        now[0] += expected_delay - 0.1
        assert supervisor.check() == []  # still backing off
        for org_id in others:
            assert httpx.get(f"{demo.url(org_id)}/health", timeout=10).status_code == 200
        now[0] += 0.1
        assert supervisor.check() == [f"{victim} restarted at {demo.url(victim)}"]
        assert demo.servers[victim].process.pid != killed.pid
        wait_ready(demo.servers[victim], 90)
    # Back with its own keys and data: the joined-up view has its section again.
    assert demo.seed is not None
    view = _view(demo, demo.seed.subjects[demo.scenario.tour.view_as.person])
    assert {s["org_id"]: s["status"] for s in view["sources"]}[victim] == "ok"


def test_second_launch_reuses_the_data(first_run, data_dir: Path) -> None:
    demo, counts = first_run
    first_seed = demo.seed
    demo.stop()
    with DemoFederation(data_dir=data_dir, port_base=None) as again:
        assert not again.seeded_now
        assert isinstance(again.seed, SeedResult)
        assert again.seed.subjects == first_seed.subjects
        assert _record_counts(again) == counts
    assert read_seed_result(data_dir) == first_seed


def _free_port_block(size: int) -> int:
    """A base port with ``size`` consecutive free ports after it (the CLI takes a block)."""
    for base in range(24000, 60000, 97):
        try:
            for port in range(base, base + size):
                with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
                    sock.bind(("127.0.0.1", port))
        except OSError:
            continue
        return base
    raise RuntimeError("no block of free ports")


def _child_pid(parent: int, org_id: str) -> int:
    """The pid of the demo's child process that runs ``org_id`` (Linux /proc)."""
    children = Path(f"/proc/{parent}/task/{parent}/children").read_text().split()
    for pid in children:
        environ = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
        if f"JOINEDUP_NODE_ORG_ID={org_id}".encode() in environ:
            return int(pid)
    raise AssertionError(f"no child process runs {org_id}")


def test_cli_prints_logins_and_stops_cleanly_on_ctrl_c(first_run, data_dir: Path) -> None:
    demo, _ = first_run
    demo.stop()
    base = _free_port_block(1 + len(demo.scenario.organisations))
    process = subprocess.Popen(
        [*JOINEDUP, "demo", "--data-dir", str(data_dir), "--port-base", str(base)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        lines = []
        for line in process.stdout:
            lines.append(line)
            if line.startswith("Press Ctrl-C"):
                break
        output = "".join(lines)
        assert "reused, not re-seeded" in output, output
        assert f"http://127.0.0.1:{base}/portal" in output
        assert f"http://127.0.0.1:{base + 1}/ui" in output
        assert "coordinator" in output
        assert "auditor" in output
        assert "password for every demo login: joinedup-demo" in output
        assert httpx.get(f"http://127.0.0.1:{base + 1}/health", timeout=5).status_code == 200
        # Kill one node: the demo says so, restarts it, and keeps running.
        victim = demo.scenario.organisations[0].org_id
        os.kill(_child_pid(process.pid, victim), signal.SIGKILL)
        told = []
        for line in process.stdout:
            told.append(line)
            if line.startswith(f"{victim} restarted at http://127.0.0.1:{base + 1}"):
                break
        assert f"{victim} stopped unexpectedly" in "".join(told), told
        wait_for_health = httpx.Client(timeout=5)
        with wait_for_health:
            for _ in range(600):
                try:
                    if wait_for_health.get(f"http://127.0.0.1:{base + 1}/health").is_success:
                        break
                except httpx.TransportError:
                    pass
                time.sleep(0.2)  # another process starting: real time, no clock to inject
            else:
                pytest.fail(f"{victim} did not come back")
        assert process.poll() is None
        process.send_signal(signal.SIGINT)
        rest = process.stdout.read()
        assert process.wait() == 0, rest
    finally:
        if process.poll() is None:  # an assertion failed above: still stop it cleanly
            process.send_signal(signal.SIGINT)
            try:
                process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        process.stdout.close()
    assert "demo stopped" in rest
    for port in range(base, base + 1 + len(demo.scenario.organisations)):
        with pytest.raises(httpx.ConnectError):
            httpx.get(f"http://127.0.0.1:{port}/health", timeout=5)

"""A real node under hostile or failing conditions (issue 12, items 3, 4 and 7).

One uvicorn process per database backend. Each test states what an attacker or a
failing disk does and what the node must answer: an oversized header is a 431 while
``/health`` stays responsive, a database that cannot be written a 503 with nothing
half-written (and readiness says so), and the last active admin cannot be demoted
or disabled. The server log stays JSON lines without tracebacks or personal data.
"""

from __future__ import annotations

import json
import resource
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from appkit.header_limit import MAX_HEADER_BYTES, MAX_HEADER_COUNT
from appkit.throttle import PER_CLIENT
from tests.fixtures.auth import TEST_PASSWORD, bearer, login, make_staff
from tests.fixtures.servers import RunningServer, node_spec, uvicorn_process

pytestmark = pytest.mark.e2e


@dataclass
class Node:
    server: RunningServer
    client: httpx.Client
    engine: Engine
    db_url: str


@pytest.fixture(scope="module")
def node(
    db_url: str, db_engine: Engine, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Node]:
    data_dir = tmp_path_factory.mktemp("node")
    spec = node_spec("council-h", data_dir, database_url=db_url)
    with (
        uvicorn_process(spec, Path(data_dir) / "logs") as server,
        httpx.Client(base_url=server.base_url, timeout=10) as client,
    ):
        yield Node(server, client, db_engine, db_url)


def assert_problem(response: httpx.Response, status: int) -> dict:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body = response.json()
    assert body["status"] == status
    return body


def assert_log_is_clean(node: Node, *forbidden: str) -> None:
    """Every line of the server's output is one JSON object; no traceback, no ``forbidden``."""
    text = node.server.log()
    assert "Traceback" not in text
    for line in text.splitlines():
        if line.strip():
            json.loads(line)  # raises on a plain-text line
    for value in forbidden:
        assert value not in text


# -- 12.3: header size and count ------------------------------------------------


def raw_request(node: Node, head: bytes) -> bytes:
    """Send ``head`` (a request line and headers) and read the answer until close."""
    with socket.create_connection(("127.0.0.1", node.server.port), timeout=10) as sock:
        sock.sendall(head)
        chunks = []
        while chunk := sock.recv(65_536):
            chunks.append(chunk)
    return b"".join(chunks)


def test_a_header_over_the_limit_is_a_431_problem(node: Node) -> None:
    big = b"x" * (MAX_HEADER_BYTES + 1)
    answer = raw_request(node, b"GET /health HTTP/1.1\r\nHost: a\r\nX-Big: " + big + b"\r\n\r\n")
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 431 ")
    assert b"content-type: application/problem+json" in head.lower()
    assert json.loads(body)["status"] == 431


def test_too_many_header_fields_are_a_431(node: Node) -> None:
    fields = b"".join(b"X-F%d: 1\r\n" % i for i in range(MAX_HEADER_COUNT + 1))
    answer = raw_request(node, b"GET /health HTTP/1.1\r\nHost: a\r\n" + fields + b"\r\n")
    assert answer.startswith(b"HTTP/1.1 431 ")


def test_headers_within_the_limits_are_served(node: Node) -> None:
    # A long bearer token and a few dozen fields are ordinary.
    fields = {f"x-field-{i}": "1" for i in range(MAX_HEADER_COUNT - 10)}
    fields["authorization"] = "Bearer " + "t" * (MAX_HEADER_BYTES // 2)
    assert node.client.get("/health/live", headers=fields).status_code == 200


def test_health_answers_while_a_huge_header_is_being_sent(node: Node) -> None:
    # Before the bound, 128 MB of one header kept the event loop busy for over a
    # minute; the 5 s client timeout below would then fail the health checks.
    sent = 0
    total = 128 * 1024 * 1024
    finished = threading.Event()

    def flood() -> None:
        nonlocal sent
        chunk = b"a" * (1024 * 1024)
        try:
            with socket.create_connection(("127.0.0.1", node.server.port), timeout=30) as sock:
                sock.sendall(b"GET /health HTTP/1.1\r\nHost: a\r\nX-Flood: ")
                while sent < total:
                    sock.sendall(chunk)
                    sent += len(chunk)
        except OSError:
            pass  # the server closed the connection: what should happen
        finally:
            finished.set()

    sender = threading.Thread(target=flood, daemon=True)
    sender.start()
    for _ in range(5):
        assert httpx.get(f"{node.server.base_url}/health/live", timeout=5).status_code == 200
    assert finished.wait(timeout=60)
    assert sent < total  # cut off, not read to the end


# -- 12.4: a database that cannot be written -----------------------------------


def test_liveness_and_readiness(node: Node) -> None:
    assert node.client.get("/health/live").json() == {"status": "ok"}
    assert node.client.get("/health/ready").json() == {"status": "ok", "database": "writable"}
    assert node.client.get("/health").json() == {"status": "ok", "org_id": "council-h"}


@contextmanager
def unwritable_database(node: Node) -> Iterator[None]:
    """Make every write of the running node fail, as a full or failing disk would."""
    if node.db_url.startswith("sqlite"):
        # No file of the server's may grow (EFBIG; Python ignores SIGXFSZ): SQLite's
        # writes to its WAL fail as "database or disk is full" / "disk I/O error".
        pid = node.server.process.pid
        before = resource.prlimit(pid, resource.RLIMIT_FSIZE)
        resource.prlimit(pid, resource.RLIMIT_FSIZE, (0, before[1]))
        try:
            yield
        finally:
            resource.prlimit(pid, resource.RLIMIT_FSIZE, before)
        return
    # PostgreSQL: the database turns read-only for new sessions; end the current ones.
    name = sa.engine.make_url(node.db_url).database
    with node.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as admin:
        admin.execute(sa.text(f'ALTER DATABASE "{name}" SET default_transaction_read_only = on'))
        _end_sessions(admin, name)
        try:
            yield
        finally:
            admin.execute(sa.text(f'ALTER DATABASE "{name}" RESET default_transaction_read_only'))
            _end_sessions(admin, name)


def _end_sessions(admin: sa.Connection, name: str | None) -> None:
    admin.execute(
        sa.text(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = :name AND pid <> pg_backend_pid()"
        ),
        {"name": name},
    )


def count_persons(node: Node) -> int:
    with node.engine.connect() as connection:
        return int(connection.execute(sa.text("SELECT count(*) FROM person")).scalar_one())


def test_writes_to_an_unwritable_database_are_503_and_nothing_is_half_written(
    node: Node,
) -> None:
    make_staff(node.engine, role="frontline", username="disk-writer")
    token = login(node.server.base_url, "disk-writer")
    persons_before = count_persons(node)
    person = {"family_name": "Okafor", "given_name": "Grace", "date_of_birth": "1984-03-17"}
    with unwritable_database(node):
        assert_problem(node.client.get("/health/ready"), 503)
        assert_problem(node.client.get("/health"), 503)
        assert node.client.get("/health/live").status_code == 200
        created = node.client.post("/persons", json=person, headers=bearer(token))
        assert_problem(created, 503)
        assert created.headers["retry-after"].isdigit()
        # A sign-in cannot be audited, so no token is issued (fail closed).
        signed_in = node.client.post(
            "/auth/token", data={"username": "disk-writer", "password": TEST_PASSWORD}
        )
        assert_problem(signed_in, 503)
    assert count_persons(node) == persons_before
    assert node.client.get("/health/ready").status_code == 200
    assert node.client.post("/persons", json=person, headers=bearer(token)).status_code == 201
    assert_log_is_clean(node, "Okafor", "Grace")


# -- 12.7: the last active admin -------------------------------------------------


def test_the_last_active_admin_cannot_be_demoted_or_disabled(node: Node) -> None:
    admin_id, admin_name = make_staff(node.engine, role="admin", username="only-admin")
    admin = bearer(login(node.server.base_url, admin_name))
    for change in ({"role": "coordinator"}, {"active": False}):
        response = node.client.patch(f"/staff/{admin_id}", json=change, headers=admin)
        body = assert_problem(response, 409)
        assert body["type"].endswith("/last-active-admin")
    # With a second active admin, the first may step down.
    make_staff(node.engine, role="admin", username="second-admin")
    response = node.client.patch(f"/staff/{admin_id}", json={"role": "auditor"}, headers=admin)
    assert response.status_code == 200, response.text
    assert response.json()["role"] == "auditor"


# -- 12.8: per-client sign-in limit (last: it locks this module's loopback address) --


def test_a_password_spray_from_one_address_is_slowed(node: Node) -> None:
    make_staff(node.engine, role="frontline", username="spray-target")
    statuses = []
    for i in range(PER_CLIENT.max_failures + 1):
        response = node.client.post(
            "/auth/token", data={"username": f"sprayed-{i}", "password": "Summer2026!"}
        )
        statuses.append(response.status_code)
    # Each username failed once, so only the per-address limit can have stopped it.
    assert statuses[:-1] == [401] * PER_CLIENT.max_failures
    assert statuses[-1] == 429
    locked = node.client.post(
        "/auth/token", data={"username": "spray-target", "password": TEST_PASSWORD}
    )
    body = assert_problem(locked, 429)
    assert "from this address" in body["detail"]
    assert 1 <= int(locked.headers["retry-after"]) <= PER_CLIENT.lockout_s
    assert_log_is_clean(node, "sprayed-", "Summer2026")

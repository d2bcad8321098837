"""Records API throughput: person create and read per second, SQLite and PostgreSQL.

Starts a real node (uvicorn, one process) per backend on a free loopback port, signs
in a front-line worker and drives the API with an httpx async client (a few
concurrent connections) for a few seconds per operation. PostgreSQL uses a
temporary database on the local server (JOINEDUP_BENCH_POSTGRES_URL, default
postgresql+psycopg://postgres@127.0.0.1:5432/postgres); when it is unreachable its
figures are null. The last line of output is JSON.

    .venv/bin/python bench/records.py
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import random
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import httpx  # noqa: E402
import sqlalchemy as sa  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402
from sqlmodel import Session  # noqa: E402

from joinedup.localfed import free_port, launch_server, wait_ready  # noqa: E402
from node.auth.service import create_staff  # noqa: E402
from node.db import make_engine  # noqa: E402

SECONDS_PER_OP = float(os.environ.get("JOINEDUP_BENCH_SECONDS", "3"))
CONCURRENCY = 8
PASSWORD = "benchmark password 0001"
POSTGRES_URL = os.environ.get(
    "JOINEDUP_BENCH_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)


@contextlib.contextmanager
def postgres_database() -> Iterator[str | None]:
    """A temporary PostgreSQL database URL, or None if the server is unreachable."""
    url = make_url(POSTGRES_URL)
    name = f"joinedup_bench_{uuid.uuid4().hex[:10]}"
    admin = sa.create_engine(url, isolation_level="AUTOCOMMIT", connect_args={"connect_timeout": 3})
    try:
        with admin.connect() as connection:
            connection.execute(sa.text(f'CREATE DATABASE "{name}"'))
    except sa.exc.OperationalError:
        admin.dispose()
        yield None
        return
    try:
        yield url.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


async def _drive(client: httpx.AsyncClient, make_request, seconds: float) -> float:  # type: ignore[no-untyped-def]
    done = 0
    deadline = time.perf_counter() + seconds

    async def worker() -> None:
        nonlocal done
        while time.perf_counter() < deadline:
            response = await make_request(client)
            if response.status_code >= 400:
                raise RuntimeError(f"{response.status_code}: {response.text[:200]}")
            done += 1

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(CONCURRENCY)))
    return done / (time.perf_counter() - started)


async def _measure(base_url: str, token: str) -> tuple[float, float]:
    headers = {"Authorization": f"Bearer {token}"}
    limits = httpx.Limits(max_connections=CONCURRENCY)
    async with httpx.AsyncClient(
        base_url=base_url, headers=headers, limits=limits, timeout=30
    ) as client:
        counter = iter(range(10**9))

        async def create(c: httpx.AsyncClient) -> httpx.Response:
            n = next(counter)
            return await c.post(
                "/persons",
                json={
                    "local_ref": f"B-{n}",
                    "family_name": f"Bench{n}",
                    "given_name": "Ada",
                    "date_of_birth": "1980-01-01",
                    "postcode": "LS1 1AA",
                },
            )

        create_rate = await _drive(client, create, SECONDS_PER_OP)
        total = next(counter)

        async def read(c: httpx.AsyncClient) -> httpx.Response:
            return await c.get(f"/persons/{random.randint(1, total)}")

        read_rate = await _drive(client, read, SECONDS_PER_OP)
    return create_rate, read_rate


def run_backend(database_url: str | None, work_dir: Path, name: str) -> tuple[float, float]:
    data_dir = work_dir / name
    env = {
        "JOINEDUP_NODE_ORG_ID": "bench-node",
        "JOINEDUP_NODE_DATA_DIR": str(data_dir),
        "JOINEDUP_NODE_LINKAGE_KEY": "benchmark-linkage-secret-0123456789",
        "JOINEDUP_NODE_LOG_JSON": "true",
    }
    if database_url:
        env["JOINEDUP_NODE_DATABASE_URL"] = database_url
    url = database_url or f"sqlite:///{data_dir}/node.db"
    server = launch_server(
        name, "node.main:create_app_from_env", env, free_port(), work_dir / "logs"
    )
    try:
        wait_ready(server)
        engine = make_engine(url)
        try:
            with Session(engine) as session:
                create_staff(session=session, username="bench", password=PASSWORD, role="frontline")
                session.commit()
        finally:
            engine.dispose()
        token = httpx.post(
            f"{server.base_url}/auth/token", data={"username": "bench", "password": PASSWORD}
        ).json()["access_token"]
        return asyncio.run(_measure(server.base_url, token))
    finally:
        server.stop()


def main() -> None:
    result: dict[str, float | None] = {}
    with tempfile.TemporaryDirectory(prefix="joinedup-bench-") as tmp:
        work = Path(tmp)
        create, read = run_backend(None, work, "sqlite")
        print(f"sqlite:   create {create:8.1f}/s   read {read:8.1f}/s")
        result["create_per_s_sqlite"] = round(create, 1)
        result["read_per_s_sqlite"] = round(read, 1)
        with postgres_database() as pg_url:
            if pg_url is None:
                print("postgres: unreachable, skipped")
                result["create_per_s_postgres"] = result["read_per_s_postgres"] = None
            else:
                create, read = run_backend(pg_url, work, "postgres")
                print(f"postgres: create {create:8.1f}/s   read {read:8.1f}/s")
                result["create_per_s_postgres"] = round(create, 1)
                result["read_per_s_postgres"] = round(read, 1)
    print(json.dumps(result))


if __name__ == "__main__":
    main()

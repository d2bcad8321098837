"""Load test: joined-up views per second and latency at 10, 20 and 50 concurrent staff.

Issue 12: twenty concurrent views used to take a node down (pool starvation). This
starts a small federation on loopback — the consent service, two requesting
councils (``council`` on SQLite, ``council-pg`` on a fresh PostgreSQL database) and
two partners (GP, police), each a real uvicorn process — enrols one person, links
and seeds them everywhere and grants consent. Then, for each requesting council,
after five uncounted views, and for each level of concurrency, it runs that many
simulated staff for ``--seconds``: each asks for a view (``POST /views``), waits for
the answer, and asks again at once; a refused one (503, admission control) waits
its ``Retry-After`` first, as a client should. Every view fans out to all four nodes
(the requester's own share endpoint included). Meanwhile ``/health`` is asked every
0.2 s.

Reported per backend and level: views/s (answered 200), p50/p95/p99 latency of the
answered views, views shed with 503 + Retry-After, errors (anything else: other
status codes, transport errors, timeouts, an answered view with a source marked
``unavailable`` or ``error``) and the slowest ``/health``. The PyNaCl Ed25519 sign
time of the same run (2 KB message) is printed beside them: the machine's speed
varies by 2x between moments.

    .venv/bin/python bench/load.py [--seconds 3] [--users 10 20 50]
        [--postgres-url postgresql+psycopg://postgres@127.0.0.1:5432/test]

PostgreSQL is skipped (and said so) if it cannot be reached. Under a minute by
default. The last line is one JSON object: ``views_per_s_50_users``,
``view_p99_ms_50_users``, ``errors_50_users`` and ``shed_50_users`` for the SQLite
council, the same under ``postgres`` for the PostgreSQL one, ``per_level`` with
every figure, and ``pynacl_sign_us``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import secrets
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import psycopg
import sqlalchemy as sa
from nacl.signing import SigningKey

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from view import (  # noqa: E402  (bench/view.py, beside this script)
    CONSENTED,
    PASSWORD,
    PERSON,
    PURPOSE,
    Bench,
    create_coordinator,
    percentile,
    seed_node,
)

from federation.linkage import LinkageKey, linkage_tokens  # noqa: E402
from federation.registry import CONSENT_SERVICE_ID  # noqa: E402
from joinedup import localfed  # noqa: E402
from joinedup.localfed import LINKAGE_KEY_VERSION, LocalFederation, MemberSpec  # noqa: E402

SQLITE_COUNCIL, PG_COUNCIL = "council", "council-pg"
ORGS = [
    (SQLITE_COUNCIL, "council", "Riverside Council", ["housing", "income", "social_care"]),
    (PG_COUNCIL, "council", "Hillside Council", ["housing", "social_care"]),
    ("gp", "gp", "Riverside GP", ["physical_health", "mental_health"]),
    ("police", "police", "Riverside Police", ["safety", "victim_support"]),
]
DEFAULT_POSTGRES = os.environ.get(
    "JOINEDUP_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
HEALTH_EVERY_S = 0.2
WARM_UP_VIEWS = 5
VIEW_TIMEOUT_S = 30.0


def pynacl_sign_us(rounds: int = 2000) -> float:
    """Median microseconds to sign a 2 KB message with Ed25519 (the machine's speed now)."""
    key, message = SigningKey.generate(), secrets.token_bytes(2048)
    times = []
    for _ in range(rounds):
        started = time.perf_counter()
        key.sign(message)
        times.append(time.perf_counter() - started)
    return statistics.median(times) * 1e6


@contextmanager
def postgres_database(admin_url: str) -> Iterator[str | None]:
    """A fresh, empty database for the PostgreSQL council (dropped afterwards); None if down."""
    url = sa.make_url(admin_url)
    conninfo = url.set(drivername="postgresql").render_as_string(hide_password=False)
    name = f"joinedup_load_{secrets.token_hex(4)}"
    try:
        with psycopg.connect(conninfo, autocommit=True, connect_timeout=3) as admin:
            admin.execute(f'CREATE DATABASE "{name}"')
    except psycopg.Error as exc:
        print(f"PostgreSQL not reachable ({type(exc).__name__}): its runs are skipped")
        yield None
        return
    try:
        yield url.set(database=name).render_as_string(hide_password=False)
    finally:
        with psycopg.connect(conninfo, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@dataclass
class Level:
    """What ``users`` concurrent staff got in one run."""

    users: int
    seconds: float
    latencies_s: list[float] = field(default_factory=list)
    shed: int = 0
    errors: int = 0
    error_kinds: dict[str, int] = field(default_factory=dict)
    health_s: list[float] = field(default_factory=list)

    def error(self, kind: str) -> None:
        self.errors += 1
        self.error_kinds[kind] = self.error_kinds.get(kind, 0) + 1

    def figures(self) -> dict[str, Any]:
        lat = self.latencies_s or [0.0]
        return {
            "users": self.users,
            "views_per_s": round(len(self.latencies_s) / self.seconds, 2),
            "p50_ms": round(percentile(lat, 0.50) * 1000, 1),
            "p95_ms": round(percentile(lat, 0.95) * 1000, 1),
            "p99_ms": round(percentile(lat, 0.99) * 1000, 1),
            "answered": len(self.latencies_s),
            "shed_503": self.shed,
            "errors": self.errors,
            "error_kinds": self.error_kinds,
            "health_max_ms": round(max(self.health_s or [0.0]) * 1000, 1),
        }


async def run_level(
    base_url: str, token: str, subject_id: str, users: int, seconds: float
) -> Level:
    """``users`` staff asking for views back to back for ``seconds``; /health alongside."""
    level = Level(users, seconds)
    body = {"subject_id": subject_id, "purpose": PURPOSE}
    headers = {"Authorization": f"Bearer {token}"}
    limits = httpx.Limits(max_connections=users + 1, max_keepalive_connections=users + 1)
    async with httpx.AsyncClient(timeout=VIEW_TIMEOUT_S, limits=limits) as client:
        end = time.monotonic() + seconds

        async def user() -> None:
            while time.monotonic() < end:
                started = time.perf_counter()
                try:
                    answer = await client.post(f"{base_url}/views", json=body, headers=headers)
                except httpx.HTTPError as exc:
                    level.error(type(exc).__name__)
                    continue
                took = time.perf_counter() - started
                if answer.status_code == 503 and "retry-after" in answer.headers:
                    level.shed += 1
                    await asyncio.sleep(float(answer.headers["retry-after"]))
                elif answer.status_code != 200:
                    level.error(f"HTTP {answer.status_code}")
                elif any(s["status"] != "ok" for s in answer.json()["sources"]):
                    level.error("source not ok")
                else:
                    level.latencies_s.append(took)

        async def health() -> None:
            while time.monotonic() < end:
                started = time.perf_counter()
                try:
                    await client.get(f"{base_url}/health", timeout=10)
                except httpx.HTTPError:
                    level.error("health failed")
                level.health_s.append(time.perf_counter() - started)
                await asyncio.sleep(HEALTH_EVERY_S)

        await asyncio.gather(health(), *(user() for _ in range(users)))
    return level


def start_nodes(fed: LocalFederation, pg_url: str | None) -> dict[str, localfed.ServerProcess]:
    """The consent service and every node; the PostgreSQL council only if it has a database."""
    servers: dict[str, localfed.ServerProcess] = {}
    log_dir = fed.root / "logs"
    try:
        for spec in fed.members:
            env = fed.env_for(spec.org_id)
            if spec.org_id == PG_COUNCIL:
                if pg_url is None:
                    continue
                env["JOINEDUP_NODE_DATABASE_URL"] = pg_url
            servers[spec.org_id] = localfed.launch_server(
                spec.org_id, fed.factory_for(spec.org_id), env, spec.port, log_dir
            )
        for server in servers.values():
            localfed.wait_ready(server, 120)
    except BaseException:
        localfed.stop_all(servers)
        raise
    return servers


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=3.0, help="per level and backend")
    parser.add_argument("--users", type=int, nargs="+", default=[10, 20, 50])
    parser.add_argument("--postgres-url", default=DEFAULT_POSTGRES)
    args = parser.parse_args()
    with (
        tempfile.TemporaryDirectory(prefix="bench-load-") as tmp,
        postgres_database(args.postgres_url) as pg_url,
    ):
        _run(Path(tmp), args, pg_url)


def _run(root: Path, args: argparse.Namespace, pg_url: str | None) -> None:
    started = time.monotonic()
    specs = [MemberSpec(org, name, kind, localfed.free_port()) for org, kind, name, _ in ORGS]
    fed = localfed.prepare_federation(root, specs, extra_env={"JOINEDUP_NODE_LOG_JSON": "false"})
    urls = {SQLITE_COUNCIL: f"sqlite:///{fed.data_dir(SQLITE_COUNCIL)}/node.db"}
    if pg_url is not None:
        urls[PG_COUNCIL] = pg_url
    for url in urls.values():
        create_coordinator(fed, url)
    servers = start_nodes(fed, pg_url)
    results: dict[str, list[dict[str, Any]]] = {}
    try:
        print(
            f"{len(servers)} processes ready in {time.monotonic() - started:.1f} s: "
            f"{', '.join(servers)}; each view fans out to {len(servers) - 1} share endpoints"
        )
        with httpx.Client(timeout=30) as client:
            bench = Bench(fed, client, client)  # no delayed network here
            subject_id = enrol_and_seed(bench, fed, urls, servers)
            sign_us = pynacl_sign_us()
            print(f"PyNaCl Ed25519 sign (2 KB) in this run: {sign_us:.1f} us")
            for org_id in urls:
                base_url = fed.node(org_id).base_url
                token = staff_token(client, base_url)
                backend = "PostgreSQL" if org_id == PG_COUNCIL else "SQLite"
                warm_up(client, base_url, token, subject_id)
                print(f"{backend} ({org_id}), {args.seconds:g} s per level:")
                results[org_id] = []
                for users in args.users:
                    level = asyncio.run(run_level(base_url, token, subject_id, users, args.seconds))
                    figures = level.figures()
                    results[org_id].append(figures)
                    print(
                        f"  {users:>3} users: {figures['views_per_s']:6.1f} views/s, "
                        f"p50 {figures['p50_ms']:.0f} ms, p95 {figures['p95_ms']:.0f} ms, "
                        f"p99 {figures['p99_ms']:.0f} ms, shed (503) {figures['shed_503']}, "
                        f"errors {figures['errors']} {figures['error_kinds'] or ''}, "
                        f"slowest /health {figures['health_max_ms']:.0f} ms"
                    )
    finally:
        localfed.stop_all(servers)
    print(f"1-min load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    print(json.dumps(summary(results, sign_us)))


def enrol_and_seed(
    bench: Bench, fed: LocalFederation, urls: dict[str, str], servers: dict[str, Any]
) -> str:
    """One enrolled person, linked and seeded at every running node, consenting to both."""
    linkage = LinkageKey(LINKAGE_KEY_VERSION, fed.linkage_secret.encode())
    tokens = linkage_tokens(key=linkage, **PERSON)  # type: ignore[arg-type]
    enrolled = bench.post_signed(
        f"{bench.consent_url}/federation/enrol",
        bench.signed(CONSENT_SERVICE_ID, "enrol", {"linkage_tokens": tokens}),
    )
    subject_id = str(enrolled.json()["subject_id"])
    for org_id, _, _, categories in ORGS:
        if org_id in servers:
            seed_node(fed, org_id, subject_id, categories, url=urls.get(org_id))
    provision = {
        "purposes": [PURPOSE],
        "recipients": list(urls),
        "categories": CONSENTED,
        "actions": ["read"],
    }
    grant = {"subject_id": subject_id, "grantor_kind": "customer", "provisions": [provision]}
    bench.post_signed(
        f"{bench.consent_url}/federation/grants", bench.signed(CONSENT_SERVICE_ID, "grant", grant)
    )
    return subject_id


def warm_up(client: httpx.Client, base_url: str, token: str, subject_id: str) -> None:
    """A few views one at a time, not counted: first calls pay for caches and connections."""
    for _ in range(WARM_UP_VIEWS):
        client.post(
            f"{base_url}/views",
            json={"subject_id": subject_id, "purpose": PURPOSE},
            headers={"Authorization": f"Bearer {token}"},
        )


def staff_token(client: httpx.Client, base_url: str) -> str:
    answer = client.post(f"{base_url}/auth/token", data={"username": "coord", "password": PASSWORD})
    answer.raise_for_status()
    return str(answer.json()["access_token"])


def summary(results: dict[str, list[dict[str, Any]]], sign_us: float) -> dict[str, Any]:
    """The last line: the 50-user figures per backend, and everything else."""

    def at_50(levels: list[dict[str, Any]]) -> dict[str, Any]:
        top = next((f for f in levels if f["users"] == 50), levels[-1] if levels else {})
        return {
            "views_per_s_50_users": top.get("views_per_s"),
            "view_p99_ms_50_users": top.get("p99_ms"),
            "errors_50_users": top.get("errors"),
            "shed_50_users": top.get("shed_503"),
        }

    return {
        **at_50(results.get(SQLITE_COUNCIL, [])),
        "postgres": at_50(results[PG_COUNCIL]) if PG_COUNCIL in results else None,
        "per_level": results,
        "pynacl_sign_us": round(sign_us, 1),
        "load_average_1m": round(os.getloadavg()[0], 2),
    }


if __name__ == "__main__":
    main()

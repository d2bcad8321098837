"""Benchmark: one evidence question over 5 nodes holding 100,000 needs each.

Bars (DESIGN "Non-functional bars", issue 17): p50 <= 2 s for the question, and
secure summation <= 20 % over plain summation.

It starts its own federation (five nodes and the consent service as real uvicorn
processes on loopback, SQLite each), generates ``--needs`` needs (default 100,000,
for about 40 % as many people, across every category and two years) into one
database copied to every node before the nodes start, signs in an analyst at the council and asks
``open_needs_by_category_month`` for twelve months over all categories
(``POST /evidence/answers``) ``--rounds`` times: p50 and p99.

The cost of secure summation is what plain summation (each node sends its counts
in one round, the requester adds them) would not spend: round 1 (fixing the
participant set: four signed joins, each policy-checked and audited, measured here
directly against the four partners, interleaved with the questions), one node's
masking (each node masks in parallel with the others) and the requester's
unmasking, less the plain addition. ``secure_sum_overhead_pct`` is that cost over
the rest of the question's p50 (which is the plain protocol's time).

    .venv/bin/python bench/evidence.py [--rounds 9] [--needs 100000]

The last line is one JSON object with the figures (``evidence_p50_ms``,
``secure_sum_overhead_pct``, ...) and PyNaCl's sign time of the same run.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import random
import shutil
import sqlite3
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from machine import sign_us  # noqa: E402  (bench/machine.py, beside this script)

from federation.envelope import new_request_id, sign_request  # noqa: E402
from federation.evidence import EvidenceQuery, cell_layout, load_catalogue  # noqa: E402
from federation.registry import load_registry  # noqa: E402
from federation.secure_sum import masked_vector, plain_sum, unmask_sum  # noqa: E402
from federation.wire.evidence import AggregateJoin  # noqa: E402
from joinedup.localfed import (  # noqa: E402
    LocalFederation,
    MemberSpec,
    free_port,
    prepare_federation,
    run_federation,
)

ORGS = [
    ("council", "council", "Riverside Council"),
    ("gp", "gp", "Riverside GP"),
    ("police", "police", "Riverside Police"),
    ("school", "school", "Riverside High"),
    ("housing", "housing_association", "Riverside Homes"),
]
REQUESTER = "council"
PASSWORD = "bench-password-long-enough"
PERIOD = ("2026-01", "2026-12")
QUESTION = "open_needs_by_category_month"


def categories() -> list[str]:
    document = json.loads(
        (Path(__file__).resolve().parents[1] / "policies/taxonomy/data.json").read_text()
    )
    return sorted(document["categories"])


def seed_node(federation: LocalFederation, org_id: str, needs: int, rng: random.Random) -> None:
    """Migrate the node's database and bulk-insert ``needs`` needs for 40 % as many people.

    Straight through ``sqlite3`` (half a million ORM rows would take minutes); the
    values are in the forms the node's own columns store (``appkit.sqltypes``).
    """
    from node.db import make_engine, upgrade_database

    data_dir = federation.data_dir(org_id)
    data_dir.mkdir(parents=True, exist_ok=True)
    engine = make_engine(f"sqlite:///{data_dir}/node.db")
    upgrade_database(engine)
    engine.dispose()
    now = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M:%S.%f")
    people = max(1, needs * 2 // 5)
    cats = categories()
    first = dt.date(2025, 1, 1).toordinal()
    need_rows = []
    for _ in range(needs):
        since = dt.date.fromordinal(first + rng.randint(0, 729))
        changed = dt.date.fromordinal(since.toordinal() + rng.randint(0, 200))
        need_rows.append(
            (
                rng.randint(1, people),
                rng.choice(cats),
                "closed" if rng.random() < 0.4 else "open",
                since.isoformat(),
                f"{changed.isoformat()} 09:00:00.000000",
                now,
            )
        )
    with sqlite3.connect(data_dir / "node.db") as connection:
        connection.executemany(
            "INSERT INTO person (id, local_ref, family_name, given_name, date_of_birth, "
            "linkage_tokens, created_at, updated_at) VALUES (?, ?, 'Bench', ?, '1980-01-01', "
            "'[]', ?, ?)",
            ((i, f"{org_id}-{i}", f"Person {i}", now, now) for i in range(1, people + 1)),
        )
        connection.executemany(
            "INSERT INTO need (person_id, category, description, severity, status, since, "
            "updated_at, created_at, recorded_by) VALUES (?, ?, '', 'medium', ?, ?, ?, ?, "
            "'bench')",
            need_rows,
        )


def analyst_token(federation: LocalFederation, base_url: str) -> str:
    from sqlmodel import Session

    from node.auth.service import create_staff
    from node.db import make_engine

    engine = make_engine(f"sqlite:///{federation.data_dir(REQUESTER)}/node.db")
    with Session(engine) as session:
        create_staff(session=session, username="bench-analyst", password=PASSWORD, role="analyst")
        session.commit()
    engine.dispose()
    response = httpx.post(
        f"{base_url}/auth/token", data={"username": "bench-analyst", "password": PASSWORD}
    )
    response.raise_for_status()
    return str(response.json()["access_token"])


def the_query() -> EvidenceQuery:
    return EvidenceQuery(
        question=QUESTION,
        period_from=PERIOD[0],
        period_to=PERIOD[1],
        categories=categories(),
        purpose="service_planning",
    )


async def join_round(federation: LocalFederation, client: httpx.AsyncClient) -> float:
    """Milliseconds for round 1 alone: four signed joins at once, as the council sends them."""
    keys = federation.keys[REQUESTER]
    body = {
        "query_id": new_request_id(),
        "evidence_id": new_request_id(),
        "attempt": 1,
        "query": the_query().model_dump(),
        "requester_role": "analyst",
        "requester_staff": "bench_analyst",
    }
    partners = [spec for spec in federation.nodes if spec.org_id != REQUESTER]
    start = time.perf_counter()
    signed = [
        (
            spec,
            sign_request(
                AggregateJoin.from_body(body), keys=keys, issuer=REQUESTER, audience=spec.org_id
            ),
        )
        for spec in partners
    ]
    answers = await asyncio.gather(
        *[
            client.post(f"{spec.base_url}/federation/aggregate/join", json={"request": token})
            for spec, token in signed
        ]
    )
    elapsed = (time.perf_counter() - start) * 1000
    for answer in answers:
        if answer.status_code != 200 or not answer.json().get("joined"):
            raise RuntimeError(f"join refused: {answer.status_code} {answer.text[:200]}")
    return elapsed


def masking_ms(federation: LocalFederation, repeats: int = 50) -> tuple[float, float, float]:
    """(one node's masking, the requester's unmasking, plain addition) in ms, medians."""
    registry = load_registry(federation.registry_path, federation.authority_key.verify_key)
    query = the_query()
    layout = cell_layout(query, load_catalogue().questions[QUESTION])
    participants = {spec.org_id: registry.public_key(spec.org_id) for spec in federation.nodes}
    counts = [random.randint(0, 5000) for _ in range(layout.size)]
    mask, unmask, plain = [], [], []
    for _ in range(repeats):
        query_id = new_request_id()
        start = time.perf_counter()
        vectors = [
            masked_vector(
                counts,
                me=org,
                my_key=federation.keys[org].encryption_key,
                participants=participants,
                query_id=query_id,
            )
            for org in participants
        ]
        mask.append((time.perf_counter() - start) * 1000 / len(participants))
        start = time.perf_counter()
        unmask_sum(vectors, layout.size)
        unmask.append((time.perf_counter() - start) * 1000)
        start = time.perf_counter()
        plain_sum([counts] * len(participants), layout.size)
        plain.append((time.perf_counter() - start) * 1000)
    return statistics.median(mask), statistics.median(unmask), statistics.median(plain)


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


async def measure(federation: LocalFederation, rounds: int) -> dict[str, Any]:
    council = federation.node(REQUESTER).base_url
    token = analyst_token(federation, council)
    body = {
        "question": QUESTION,
        "period_from": PERIOD[0],
        "period_to": PERIOD[1],
        "purpose": "service_planning",
    }
    headers = {"Authorization": f"Bearer {token}"}
    latencies: list[float] = []
    joins: list[float] = []
    answer: dict[str, Any] = {}
    async with httpx.AsyncClient(timeout=60) as client:
        for _ in range(2):  # the first questions warm each node's page cache and pools
            warm = await client.post(f"{council}/evidence/answers", json=body, headers=headers)
            if warm.status_code != 200:
                raise RuntimeError(f"the question failed: {warm.status_code} {warm.text}")
            await join_round(federation, client)
        for _ in range(rounds):
            start = time.perf_counter()
            response = await client.post(f"{council}/evidence/answers", json=body, headers=headers)
            latencies.append((time.perf_counter() - start) * 1000)
            if response.status_code != 200:
                raise RuntimeError(f"the question failed: {response.status_code} {response.text}")
            answer = response.json()
            joins.append(await join_round(federation, client))
    mask, unmask, plain = masking_ms(federation)
    p50 = statistics.median(latencies)
    overhead = statistics.median(joins) + mask + unmask - plain
    return {
        "evidence_p50_ms": round(p50, 1),
        "evidence_p99_ms": round(percentile(latencies, 0.99), 1),
        "join_round_p50_ms": round(statistics.median(joins), 2),
        "mask_ms_per_node": round(mask, 3),
        "unmask_ms": round(unmask, 3),
        "plain_sum_ms": round(plain, 4),
        "secure_sum_overhead_ms": round(overhead, 2),
        "secure_sum_overhead_pct": round(100 * overhead / max(p50 - overhead, 1e-9), 2),
        "organisations": len(answer.get("organisations", [])),
        "cells": sum(len(row) for row in answer.get("cells", [])),
        "suppressed": sum(c["shown"] != "count" for row in answer.get("cells", []) for c in row),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=9)
    parser.add_argument("--needs", type=int, default=100_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="joinedup-bench-evidence-") as tmp:
        specs = [MemberSpec(org_id, name, kind, free_port()) for org_id, kind, name in ORGS]
        federation = prepare_federation(Path(tmp), specs)
        start = time.perf_counter()
        # One generated database, copied to every node: the figures depend on how
        # many needs each node counts, not on their differing.
        seed_node(federation, specs[0].org_id, args.needs, random.Random(17))
        for spec in specs[1:]:
            federation.data_dir(spec.org_id).mkdir(parents=True, exist_ok=True)
            shutil.copyfile(
                federation.data_dir(specs[0].org_id) / "node.db",
                federation.data_dir(spec.org_id) / "node.db",
            )
        seconds = time.perf_counter() - start
        print(f"generated {args.needs:,} needs at each of {len(specs)} nodes in {seconds:.1f} s")
        with run_federation(federation, ready_timeout=180):
            figures = asyncio.run(measure(federation, args.rounds))
    figures["needs_per_node"] = args.needs
    figures["rounds"] = args.rounds
    figures["sign_us"] = round(sign_us(), 1)
    print(f"PyNaCl Ed25519 sign (2 KB), this run: {figures['sign_us']} us (normal moment ~21 us)")
    print(
        f"evidence question over {figures['organisations']} nodes x {args.needs:,} needs, "
        f"{figures['cells']} cells ({figures['suppressed']} hidden): "
        f"p50 {figures['evidence_p50_ms']} ms, p99 {figures['evidence_p99_ms']} ms "
        "(bar: p50 <= 2000 ms)"
    )
    print(
        f"secure summation: round 1 {figures['join_round_p50_ms']} ms, masking "
        f"{figures['mask_ms_per_node']} ms per node, unmasking {figures['unmask_ms']} ms, "
        f"plain addition {figures['plain_sum_ms']} ms -> {figures['secure_sum_overhead_ms']} ms, "
        f"{figures['secure_sum_overhead_pct']} % over plain (bar: <= 20 %)"
    )
    print(json.dumps(figures))


if __name__ == "__main__":
    main()

"""Audit log benchmark: appends/s, full verification speed, inclusion proof on 1M entries.

DESIGN bars: append >= 2,000 entries/s on SQLite; full verification >= 100,000
entries/s; an inclusion proof in <= 1 ms for a 1,000,000-entry log.

What is measured, all on a SQLite file in WAL mode (the node's embedded default):

1. ``appends_per_s_sqlite``: ``record_audit`` exactly as a request uses it — a new
   session, the append (lock, entry, subtrees, state), commit — one transaction per
   entry; the median of three rounds.
2. ``verify_entries_per_s``: ``verify_log`` over a log of ``--verify-entries``
   entries with two signed heads, recomputing every leaf from its columns. The log
   is bulk-loaded (same tables, same canonical encoding and subtree positions as
   ``record_audit``, one transaction) so the benchmark finishes in seconds.
3. ``inclusion_proof_ms_1m``: ``get_inclusion_proof`` (one indexed query for the
   stored subtrees, then the fold) on a tree of 1,000,000 leaves, mean over random
   indices, each proof also checked against the root. Only ``audit_subtree`` and the
   state row are loaded for this tree (2M subtree rows from synthetic leaf hashes):
   a proof never reads entries.

The last line printed is JSON with the three wall-clock figures; the line before
gives CPU-time equivalents and the load average, because wall-clock rates on a
shared two-core machine swing with whatever else runs.
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import json
import os
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col, select

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from federation.keys import MemberKeys  # noqa: E402
from federation.merkle import (  # noqa: E402
    CompactRange,
    entry_leaf_hash,
    subtree_position,
    verify_inclusion,
)
from federation.tree_head import sign_tree_head  # noqa: E402
from node.audit.guard import check_unsigned_entries  # noqa: E402
from node.audit.models import SignedTreeHeadRecord, canonical_fields  # noqa: E402
from node.audit.service import get_inclusion_proof, read_tree_state, record_audit  # noqa: E402
from node.audit.verify import verify_log  # noqa: E402
from node.db import make_engine, upgrade_database  # noqa: E402

ORG = "bench-org"
# CPU-time figures, printed for context: on a shared machine wall-clock rates swing
# with other processes' load; these show what the code itself costs.
CPU_FIGURES: dict[str, float] = {}


def fresh_engine(directory: Path, name: str) -> sa.Engine:
    url = f"sqlite:///{directory / name}"
    engine = make_engine(url)
    upgrade_database(engine)
    return engine


def bench_appends(engine: sa.Engine, rounds: int, per_round: int) -> float:
    rates, cpu_rates = [], []
    seq = 0
    for _ in range(rounds):
        start, cpu_start = time.perf_counter(), time.process_time()
        for _ in range(per_round):
            with Session(engine) as session:
                record_audit(
                    session=session,
                    kind="share_decided",
                    request_id=f"req-{seq:08d}",
                    actor_org="gp-b",
                    actor_staff="stf-01",
                    actor_role="frontline",
                    subject_id=f"subj-{seq % 997}",
                    purpose="care_coordination",
                    action="read",
                    decision="allow",
                    categories=["housing", "health"],
                    reason="agreement gp-b/council-a; consent token ok",
                    holder_org=ORG,
                )
                session.commit()
            seq += 1
        rates.append(per_round / (time.perf_counter() - start))
        cpu_rates.append(per_round / (time.process_time() - cpu_start))
    print(f"appends/s per round: {', '.join(f'{r:,.0f}' for r in rates)}")
    CPU_FIGURES["appends_per_cpu_s"] = round(statistics.median(cpu_rates))
    return statistics.median(rates)


def bulk_load_entries(engine: sa.Engine, count: int, heads_at: tuple[int, ...]) -> dict[int, bytes]:
    """Write ``count`` entries with subtrees and state as record_audit would.

    Returns the roots at the sizes in ``heads_at``, for signing heads.
    """
    roots: dict[int, bytes] = {}
    compact = CompactRange()
    entries, subtrees = [], []
    base = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    for seq in range(count):
        values: dict[str, Any] = {
            "seq": seq,
            "recorded_at": base + dt.timedelta(milliseconds=seq),
            "request_id": f"req-{seq:08d}",
            "kind": "share_decided",
            "actor_org": "gp-b",
            "actor_staff": "stf-01",
            "actor_role": "frontline",
            "subject_id": f"subj-{seq % 997}",
            "purpose": "care_coordination",
            "action": "read",
            "decision": "allow" if seq % 5 else "deny",
            "categories": ["health", "housing"],
            "reason": "agreement gp-b/council-a",
            "emergency": False,
            "holder_org": ORG,
        }
        leaf = entry_leaf_hash(canonical_fields(**values))
        for level, index, digest in compact.append(leaf):
            subtrees.append((subtree_position(level, index), digest))
        if compact.size in heads_at:
            roots[compact.size] = compact.root()
        entries.append(
            (
                seq,
                values["recorded_at"].strftime("%Y-%m-%d %H:%M:%S.%f"),
                values["request_id"],
                values["kind"],
                values["actor_org"],
                values["actor_staff"],
                values["actor_role"],
                values["subject_id"],
                values["purpose"],
                values["action"],
                values["decision"],
                json.dumps(values["categories"]),
                values["reason"],
                0,
                values["holder_org"],
            )
        )
    _bulk_write(engine, entries, subtrees, compact)
    return roots


def bulk_load_subtrees(engine: sa.Engine, count: int) -> bytes:
    """A tree of ``count`` synthetic leaves: subtrees and state only. Returns the root.

    ``CompactRange.append`` inlined, with positions from ``subtree_position``'s
    arithmetic (the subtrees leaf i completes sit at 2i - popcount(i) + level).
    """
    sha = hashlib.sha256
    frontier: list[bytes] = []
    subtrees: list[tuple[int, bytes]] = []
    add = subtrees.append
    for i in range(count):
        current = sha(i.to_bytes(8, "big")).digest()
        base = 2 * i - i.bit_count()
        add((base, current))
        level, index = 0, i
        while index & 1:
            current = sha(b"\x01" + frontier.pop() + current).digest()
            level += 1
            index >>= 1
            add((base + level, current))
        frontier.append(current)
    compact = CompactRange(count, frontier)
    _bulk_write(engine, [], subtrees, compact)
    return compact.root()


def _bulk_write(
    engine: sa.Engine,
    entries: list[tuple[Any, ...]],
    subtrees: list[tuple[int, bytes]],
    compact: CompactRange,
) -> None:
    raw = engine.raw_connection()
    try:
        cursor = raw.cursor()
        if entries:
            cursor.executemany(
                "INSERT INTO audit_entry (seq, recorded_at, request_id, kind, actor_org,"
                " actor_staff, actor_role, subject_id, purpose, action, decision, categories,"
                " reason, emergency, holder_org) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                entries,
            )
        cursor.executemany("INSERT INTO audit_subtree (pos, hash) VALUES (?, ?)", subtrees)
        cursor.execute(
            "UPDATE audit_tree_state SET tree_size = ?, frontier = ?, root_hash = ? WHERE id = 1",
            (compact.size, b"".join(compact.frontier), compact.root()),
        )
        raw.commit()
    finally:
        raw.close()


def bench_verify(engine: sa.Engine, count: int, keys: MemberKeys) -> float:
    roots = bulk_load_entries(engine, count, heads_at=(count // 2, count))
    with Session(engine) as session:
        for size, root in roots.items():
            sth = sign_tree_head(
                keys=keys, org_id=ORG, tree_size=size, root_hash=root, timestamp=size
            )
            session.add(
                SignedTreeHeadRecord(
                    tree_size=size,
                    root_hash=sth.root_hash,
                    timestamp_ms=sth.timestamp,
                    kid=keys.kid,
                    jws=sth.jws,
                )
            )
        session.commit()
    with engine.connect() as connection:
        start, cpu_start = time.perf_counter(), time.process_time()
        report = verify_log(connection=connection, verify_keys=[keys.verify_key], org_id=ORG)
        elapsed = time.perf_counter() - start
        CPU_FIGURES["verify_entries_per_cpu_s"] = round(count / (time.process_time() - cpu_start))
    if not report.ok or report.entries_checked != count:
        raise SystemExit(f"verification of the benchmark log failed: {report.problems[:3]}")
    print(f"verified {count:,} entries and {report.tree_heads_checked} heads in {elapsed:.2f} s")
    bench_guard(engine, count, keys)
    return count / elapsed


def bench_guard(engine: sa.Engine, count: int, keys: MemberKeys) -> None:
    """The tamper guard's re-check before a head, here over the second half of the log.

    A node re-checks only the entries since its last head (default 100), so this
    prices the check per entry; printed, not part of the DESIGN bars.
    """
    with Session(engine) as session:
        first = session.exec(
            select(SignedTreeHeadRecord).order_by(col(SignedTreeHeadRecord.tree_size)).limit(1)
        ).one()
        state = read_tree_state(session)
        start = time.perf_counter()
        problem = check_unsigned_entries(
            session=session,
            head=first,
            verify_key=keys.verify_key,
            org_id=ORG,
            tree_size=state.tree_size,
            root_hash=state.root_hash,
        )
        elapsed = time.perf_counter() - start
    if problem is not None:
        raise SystemExit(f"the guard rejected the benchmark log: {problem}")
    checked = count - first.tree_size
    CPU_FIGURES["guard_entries_per_s"] = round(checked / elapsed)
    print(f"tamper guard re-checked {checked:,} entries since a head in {elapsed:.2f} s")


def bench_inclusion(engine: sa.Engine, size: int, samples: int) -> float:
    start = time.perf_counter()
    root = bulk_load_subtrees(engine, size)
    print(f"built a {size:,}-leaf tree's stored subtrees in {time.perf_counter() - start:.1f} s")
    rng = random.Random(9162)
    indices = [rng.randrange(size) for _ in range(samples)]
    timings = []
    cpu_start = time.process_time()
    with Session(engine) as session:
        for index in indices:
            begin = time.perf_counter()
            proof = get_inclusion_proof(session=session, index=index, tree_size=size)
            timings.append(time.perf_counter() - begin)
            ok = verify_inclusion(
                leaf_hash=bytes.fromhex(proof.leaf_hash),
                index=index,
                tree_size=size,
                proof=[bytes.fromhex(p) for p in proof.proof],
                root=root,
            )
            if not ok:
                raise SystemExit(f"inclusion proof for {index} does not verify")
    cpu_total = time.process_time() - cpu_start  # includes checking each proof
    CPU_FIGURES["inclusion_proof_and_check_cpu_ms_1m"] = round(cpu_total / samples * 1000, 4)
    mean_ms = statistics.fmean(timings) * 1000
    p99_ms = sorted(timings)[int(len(timings) * 0.99) - 1] * 1000
    print(f"inclusion proof on {size:,} leaves: mean {mean_ms:.3f} ms, p99 {p99_ms:.3f} ms")
    return mean_ms


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--appends", type=int, default=1500, help="appends per round (x3)")
    parser.add_argument("--verify-entries", type=int, default=100_000)
    parser.add_argument("--proof-leaves", type=int, default=1_000_000)
    parser.add_argument("--proof-samples", type=int, default=2000)
    args = parser.parse_args()
    keys = MemberKeys.generate()
    with tempfile.TemporaryDirectory(prefix="joinedup-bench-audit-") as tmp:
        directory = Path(tmp)
        engines = []
        try:
            engines.append(fresh_engine(directory, "appends.db"))
            appends = bench_appends(engines[-1], 3, args.appends)
            engines.append(fresh_engine(directory, "verify.db"))
            verify_rate = bench_verify(engines[-1], args.verify_entries, keys)
            engines.append(fresh_engine(directory, "proof.db"))
            proof_ms = bench_inclusion(engines[-1], args.proof_leaves, args.proof_samples)
        finally:
            for engine in engines:
                engine.dispose()
    load = os.getloadavg()[0]
    print(f"CPU-time figures (load average {load:.1f} on {os.cpu_count()} cores): {CPU_FIGURES}")
    print(
        json.dumps(
            {
                "appends_per_s_sqlite": round(appends),
                "verify_entries_per_s": round(verify_rate),
                "inclusion_proof_ms_1m": round(proof_ms, 4),
            }
        )
    )


if __name__ == "__main__":
    main()

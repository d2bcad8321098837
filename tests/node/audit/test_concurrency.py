"""Many threads appending at once, each in its own transaction: the tree never forks.

This is the service-level counterpart of the parallel sign-ins against a real server
(test_router.py): more appends, no password hashing in between, on SQLite and
PostgreSQL. Afterwards every index 0..n-1 is used exactly once and full
verification finds nothing wrong.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlmodel import Session

from federation.keys import MemberKeys
from node.audit.service import record_audit, sign_tree_head_now
from node.audit.verify import verify_log
from tests.node.audit.conftest import ORG

THREADS = 6
PER_THREAD = 25
KEYS = MemberKeys.generate()


def append_many(engine: Engine, worker: int) -> list[int]:
    seqs = []
    for i in range(PER_THREAD):
        with Session(engine) as session:
            entry = record_audit(
                session=session,
                kind="share_decided",
                request_id=f"req-{worker}-{i}",
                actor_org="gp-b",
                subject_id=f"subj-{worker}",
                categories=["housing"],
            )
            session.commit()
            seqs.append(entry.seq)
        if i % 10 == 0:
            with Session(engine) as session:
                sign_tree_head_now(session=session, keys=KEYS, org_id=ORG)
                session.commit()
    return seqs


def test_concurrent_appends_never_fork_the_tree(db_engine: Engine) -> None:
    with ThreadPoolExecutor(max_workers=THREADS) as pool:
        results = list(pool.map(lambda w: append_many(db_engine, w), range(THREADS)))
    seqs = sorted(s for worker in results for s in worker)
    assert seqs == list(range(THREADS * PER_THREAD))
    with db_engine.connect() as connection:
        stored = connection.execute(sa.text("SELECT count(*) FROM audit_entry")).scalar_one()
        report = verify_log(connection=connection, verify_keys=[KEYS.verify_key], org_id=ORG)
    assert stored == THREADS * PER_THREAD
    assert report.ok, report.problems
    assert report.tree_heads_checked >= THREADS


def test_verification_beside_running_appenders_reports_nothing(db_engine: Engine) -> None:
    """Entries and heads appended while the verifier reads are not tampering.

    Each statement of the verifier may see a newer snapshot than the last (SQLite
    outside a transaction, PostgreSQL read committed); an entry appended with its
    tree update after the state row was read must not read as "beyond the tree".
    """
    with ThreadPoolExecutor(max_workers=3) as pool:
        appenders = [pool.submit(append_many, db_engine, w) for w in range(2)]
        reports = []
        while not all(a.done() for a in appenders):
            with db_engine.connect() as connection:
                reports.append(
                    verify_log(connection=connection, verify_keys=[KEYS.verify_key], org_id=ORG)
                )
        for appender in appenders:
            appender.result()
    assert reports
    for report in reports:
        assert report.ok, report.problems
        assert report.entries_checked == report.tree_size

"""A log written before entry format 2 still verifies after the migration that adds it.

The entries are written as the node wrote them before (format 1, no emergency
basis or justification columns), under a signed head; then the database is
upgraded to every head, a format-2 entry is appended, and the whole log verifies
and the tamper guard lets the next head be signed. On SQLite and PostgreSQL.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlmodel import Session

from federation.keys import MemberKeys
from federation.merkle import CompactRange, entry_leaf_hash, subtree_position
from node.audit.models import canonical_fields
from node.audit.service import record_audit, sign_tree_head_now
from node.audit.verify import verify_log
from node.db import make_engine, upgrade_database
from tests.fixtures.db import BACKENDS, temporary_database

ORG = "council-a"


def _write_format_1(engine: sa.Engine, count: int) -> None:
    compact = CompactRange()
    at = dt.datetime(2026, 11, 30, 9, 0, tzinfo=dt.UTC)
    with engine.begin() as connection:
        for seq in range(count):
            fields = {
                "seq": seq,
                "request_id": f"view_{seq}",
                "kind": "share_decided",
                "actor_org": "police",
                "actor_staff": None,
                "actor_role": "frontline",
                "subject_id": "sub_1",
                "purpose": "safeguarding",
                "action": "read",
                "decision": "allow",
                "categories": ["housing"],
                "reason": "ok",
                "emergency": seq == 1,
                "holder_org": ORG,
            }
            leaf = entry_leaf_hash(canonical_fields(recorded_at=at, **fields))
            connection.execute(
                sa.text(
                    "INSERT INTO audit_entry (seq, recorded_at, request_id, kind, actor_org,"
                    " actor_staff, actor_role, subject_id, purpose, action, decision,"
                    " categories, reason, emergency, holder_org) VALUES (:seq, :at, :request_id,"
                    " :kind, :actor_org, :actor_staff, :actor_role, :subject_id, :purpose,"
                    " :action, :decision, :categories, :reason, :emergency, :holder_org)"
                ).bindparams(
                    sa.bindparam("at", type_=sa.DateTime(timezone=True)),
                    sa.bindparam("categories", type_=sa.JSON),
                ),
                {**fields, "at": at},
            )
            for level, index, digest in compact.append(leaf):
                connection.execute(
                    sa.text("INSERT INTO audit_subtree (pos, hash) VALUES (:p, :h)"),
                    {"p": subtree_position(level, index), "h": digest},
                )
        connection.execute(
            sa.text(
                "UPDATE audit_tree_state SET tree_size = :n, frontier = :f, root_hash = :r"
                " WHERE id = 1"
            ),
            {"n": compact.size, "f": b"".join(compact.frontier), "r": compact.root()},
        )


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_format_1_log_verifies_after_the_upgrade(backend: str, tmp_path: Path) -> None:
    keys = MemberKeys.generate()
    with temporary_database(backend, tmp_path) as url:
        engine = make_engine(url)
        try:
            upgrade_database(engine, "0002_audit")
            _write_format_1(engine, 5)
            upgrade_database(engine)
            with Session(engine) as session:
                sign_tree_head_now(session=session, keys=keys, org_id=ORG)
                record_audit(
                    session=session,
                    kind="view_requested",
                    request_id="view_new",
                    actor_org=ORG,
                    emergency=True,
                    emergency_basis="vital_interests",
                    justification="Collapsed in the street; history needed now",
                )
                head = sign_tree_head_now(session=session, keys=keys, org_id=ORG)
                assert head.tree_size == 6
                session.commit()
            with engine.connect() as connection:
                report = verify_log(
                    connection=connection, verify_keys=[keys.verify_key], org_id=ORG
                )
                stored = connection.execute(
                    sa.text("SELECT justification FROM audit_entry WHERE seq = 5")
                ).scalar_one()
            assert report.ok, report.problems
            assert report.entries_checked == 6
            assert stored == "Collapsed in the street; history needed now"
            assert json.dumps(report.first_bad_index) == "null"
        finally:
            engine.dispose()

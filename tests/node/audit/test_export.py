"""The one audit export (``node.audit.export``) streamed from a real database.

The page, the API and the CLI all write ``export_stream``'s lines
(tests/node/web/test_audit_pages.py compares their bytes); here: it streams
without keeping a pooled connection while the lines travel, on SQLite and PostgreSQL.
"""

from __future__ import annotations

import json
from contextlib import closing

from sqlalchemy.engine import Engine
from sqlmodel import Session

from federation.merkle import canonical_entry_bytes
from node.audit.export import export_stream
from node.audit.queries import AuditScope
from node.audit.schemas import AuditFilter
from tests.node.audit.conftest import append_entries


def test_a_streamed_export_gives_its_connection_back_before_sending(db_engine: Engine) -> None:
    with Session(db_engine) as session:
        append_entries(session, 5)
        session.commit()
    stream = export_stream(db_engine, filters=AuditFilter(), scope=AuditScope(), fmt="jsonl")
    with closing(stream) as lines:
        first = next(lines)
        # The batch is read and its transaction ended: nothing is held while it is sent.
        assert db_engine.pool.checkedout() == 0  # type: ignore[attr-defined]
        entries = [first, *lines]
    assert len(entries) == 5
    assert canonical_entry_bytes(json.loads(first)).decode() + "\n" == first

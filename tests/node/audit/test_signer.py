"""The lifespan tree-head signer: a head at start-up, then one when N entries are due."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from sqlmodel import Session, col, select

from federation.keys import MemberKeys
from federation.tree_head import verify_tree_head
from node.audit.exceptions import AuditSigningHalted
from node.audit.models import SignedTreeHeadRecord
from node.audit.signer import sign_if_due, tree_head_signer
from node.db import make_engine, upgrade_database
from tests.node.audit.conftest import ORG, append_entries


def head_sizes(engine) -> list[int]:
    with Session(engine) as session:
        rows = session.exec(select(SignedTreeHeadRecord).order_by(col(SignedTreeHeadRecord.id)))
        return [r.tree_size for r in rows]


async def test_signer_signs_at_start_up_and_every_n_entries(tmp_path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'node.db'}")
    upgrade_database(engine)
    keys = MemberKeys.generate()
    settings = SimpleNamespace(org_id=ORG, audit_tree_head_every=3, audit_tree_head_seconds=3600)
    app = SimpleNamespace(state=SimpleNamespace(settings=settings, engine=engine, keys=keys))
    try:
        async with tree_head_signer(app):  # type: ignore[arg-type]
            assert head_sizes(engine) == [0]
            with Session(engine) as session:
                append_entries(session, 2)
                session.commit()
            sign_if_due(app)  # type: ignore[arg-type]
            assert head_sizes(engine) == [0]
            with Session(engine) as session:
                append_entries(session, 1, start=2)
                session.commit()
            sign_if_due(app)  # type: ignore[arg-type]
            assert head_sizes(engine) == [0, 3]
        with Session(engine) as session:
            latest = session.exec(
                select(SignedTreeHeadRecord).order_by(col(SignedTreeHeadRecord.id).desc())
            ).first()
        assert latest is not None
        assert verify_tree_head(latest.jws, keys.verify_key, org_id=ORG).tree_size == 3
    finally:
        engine.dispose()


async def test_the_signer_stops_over_a_tampered_log_and_says_so_at_every_start(
    tmp_path, caplog
) -> None:
    import logging

    import sqlalchemy as sa

    engine = make_engine(f"sqlite:///{tmp_path / 'node.db'}")
    upgrade_database(engine)
    keys = MemberKeys.generate()
    settings = SimpleNamespace(org_id=ORG, audit_tree_head_every=3, audit_tree_head_seconds=3600)
    app = SimpleNamespace(state=SimpleNamespace(settings=settings, engine=engine, keys=keys))
    try:
        async with tree_head_signer(app):  # type: ignore[arg-type]
            with Session(engine) as session:
                append_entries(session, 3)
                session.commit()
            with engine.begin() as connection:
                connection.execute(sa.text("UPDATE audit_entry SET reason = 'x' WHERE seq = 1"))
            with caplog.at_level(logging.CRITICAL, logger="joinedup.node.audit"):
                with pytest.raises(AuditSigningHalted):  # this round fails (and logs it)
                    sign_if_due(app)  # type: ignore[arg-type]
                sign_if_due(app)  # type: ignore[arg-type]  # the next ones sign nothing
            assert head_sizes(engine) == [0]
            assert [r.getMessage()[:19] for r in caplog.records] == ["AUDIT LOG TAMPERED:"]
        caplog.clear()
        with caplog.at_level(logging.CRITICAL, logger="joinedup.node.audit"):
            async with tree_head_signer(app):  # type: ignore[arg-type]
                assert head_sizes(engine) == [0]
        assert any("from entry 1" in r.getMessage() for r in caplog.records)
    finally:
        engine.dispose()

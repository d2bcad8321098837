"""Verification finds the first bad entry when the database is tampered with directly.

Each case edits, deletes, inserts or reorders rows with plain SQL — as someone with
database access but without the node's signing key would — on SQLite and PostgreSQL.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
import sqlalchemy as sa
from sqlmodel import Session

from federation.keys import MemberKeys
from node.audit.verify import verify_log
from tests.node.audit.conftest import ORG


def run(session: Session, sql: str, **params: object) -> None:
    session.connection().execute(sa.text(sql), params)


def report(session: Session, keys: MemberKeys):
    return verify_log(connection=session.connection(), verify_keys=[keys.verify_key], org_id=ORG)


def test_an_untouched_log_verifies(signed_log: Session, node_keys: MemberKeys) -> None:
    result = report(signed_log, node_keys)
    assert result.ok, result.problems
    assert result.entries_checked == 12
    assert result.tree_heads_checked == 2
    assert result.first_bad_index is None


def edit_reason(s: Session) -> None:
    run(s, "UPDATE audit_entry SET reason = 'nothing to see' WHERE seq = 7")


def edit_categories(s: Session) -> None:
    # JSON text differs between backends; rewrite via a parameter in both.
    s.connection().execute(
        sa.text("UPDATE audit_entry SET categories = :c WHERE seq = 7"),
        {"c": '["health", "housing", "criminal_record"]'},
    )


def clear_emergency(s: Session) -> None:
    run(s, "UPDATE audit_entry SET emergency = :f WHERE seq = 0", f=False)


def delete_middle(s: Session) -> None:
    run(s, "DELETE FROM audit_entry WHERE seq = 6")


def delete_tail(s: Session) -> None:
    run(s, "DELETE FROM audit_entry WHERE seq >= 9")


def insert_beyond(s: Session) -> None:
    run(
        s,
        "INSERT INTO audit_entry (seq, recorded_at, request_id, kind, actor_org, decision,"
        " categories, reason, emergency) SELECT 12, recorded_at, 'req-forged', kind, actor_org,"
        " decision, categories, reason, emergency FROM audit_entry WHERE seq = 11",
    )


def insert_shifting(s: Session) -> None:
    # Make room at 4 by shifting 4.. up one (descending, to respect the primary key),
    # then slip a forged entry in; also bump the state so the size looks right.
    for seq in range(11, 3, -1):
        run(s, "UPDATE audit_entry SET seq = :n WHERE seq = :o", n=seq + 1, o=seq)
    run(
        s,
        "INSERT INTO audit_entry (seq, recorded_at, request_id, kind, actor_org, decision,"
        " categories, reason, emergency) SELECT 4, recorded_at, 'req-forged', kind, actor_org,"
        " decision, categories, reason, emergency FROM audit_entry WHERE seq = 3",
    )
    run(s, "UPDATE audit_tree_state SET tree_size = 13 WHERE id = 1")


def reorder(s: Session) -> None:
    run(s, "UPDATE audit_entry SET seq = -1 WHERE seq = 3")
    run(s, "UPDATE audit_entry SET seq = 3 WHERE seq = 8")
    run(s, "UPDATE audit_entry SET seq = 8 WHERE seq = -1")


def rewrite_entry_and_leaf(s: Session) -> None:
    # The stored leaf hash is rewritten to match the edit: only the signed head and
    # the stored parent subtree still remember the original.
    from federation.merkle import entry_leaf_hash, subtree_position
    from node.audit.models import AuditEntry

    run(s, "UPDATE audit_entry SET decision = 'allow', reason = 'ok' WHERE seq = 2")
    s.expire_all()
    entry = s.get(AuditEntry, 2)
    leaf = entry_leaf_hash(entry.canonical())
    s.connection().execute(
        sa.text("UPDATE audit_subtree SET hash = :h WHERE pos = :p"),
        {"h": leaf, "p": subtree_position(0, 2)},
    )


TAMPERING: list[tuple[Callable[[Session], None], int, str]] = [
    (edit_reason, 7, "entry_modified"),
    (edit_categories, 7, "entry_modified"),
    (clear_emergency, 0, "entry_modified"),
    (delete_middle, 6, "entry_missing"),
    (delete_tail, 9, "entry_missing"),
    (insert_beyond, 12, "entry_not_in_tree"),
    (insert_shifting, 4, "entry_modified"),
    (reorder, 3, "entry_modified"),
    (rewrite_entry_and_leaf, 2, "subtree_mismatch"),
]


@pytest.mark.parametrize(
    ("tamper", "first_bad", "kind"), TAMPERING, ids=[t[0].__name__ for t in TAMPERING]
)
def test_tampering_is_reported_at_the_first_bad_entry(
    signed_log: Session, node_keys: MemberKeys, tamper, first_bad: int, kind: str
) -> None:
    tamper(signed_log)
    result = report(signed_log, node_keys)
    assert not result.ok
    assert result.first_bad_index == first_bad
    assert any(p.kind == kind and p.index == first_bad for p in result.problems), result.problems


def test_a_consistent_rewrite_of_entries_and_hashes_fails_the_signed_head(
    signed_log: Session, node_keys: MemberKeys
) -> None:
    """Rewrite entry 1 and every stored hash to match: only the signed heads object."""
    from federation.merkle import CompactRange, entry_leaf_hash, subtree_position
    from node.audit.models import AuditEntry

    run(signed_log, "UPDATE audit_entry SET reason = 'rewritten' WHERE seq = 1")
    signed_log.expire_all()
    compact = CompactRange()
    for seq in range(12):
        entry = signed_log.get(AuditEntry, seq)
        for level, index, digest in compact.append(entry_leaf_hash(entry.canonical())):
            signed_log.connection().execute(
                sa.text("UPDATE audit_subtree SET hash = :h WHERE pos = :p"),
                {"h": digest, "p": subtree_position(level, index)},
            )
    signed_log.connection().execute(
        sa.text("UPDATE audit_tree_state SET root_hash = :r WHERE id = 1"), {"r": compact.root()}
    )
    result = report(signed_log, node_keys)
    assert not result.ok
    assert [p.kind for p in result.problems] == ["tree_head_mismatch", "tree_head_mismatch"]
    # The first signed head that no longer matches covers entries 0..4: trust ends at 0.
    assert result.first_bad_index == 0


def test_a_forged_tree_head_is_reported(signed_log: Session, node_keys: MemberKeys) -> None:
    run(signed_log, "UPDATE audit_tree_head SET root_hash = :r", r="0" * 64)
    result = report(signed_log, node_keys)
    assert not result.ok
    assert {p.kind for p in result.problems} == {"tree_head_record"}
    stranger = MemberKeys.generate()
    assert not report(signed_log, stranger).ok

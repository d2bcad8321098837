"""The tamper guard: no tree head is signed over entries edited since the last head.

Each case edits the database directly, as someone with database access but without
the node's key would, then asks for a head. The alarm must stop every signing path,
show on /health's query, survive until an operator resumes, and log no contents.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

import pytest
import sqlalchemy as sa
from sqlmodel import Session, select

from federation.keys import MemberKeys
from federation.merkle import subtree_position
from node.audit.exceptions import AuditSigningHalted
from node.audit.guard import alarm_message, open_alarm
from node.audit.models import AuditEntry
from node.audit.service import (
    latest_tree_head,
    maybe_sign_tree_head,
    resume_signing,
    sign_tree_head_now,
)
from tests.node.audit.conftest import ORG, append_entries

SECRET = "Morgan Example told us about the flat at 4 Elm Row"


def run(session: Session, sql: str, **params: object) -> None:
    session.connection().execute(sa.text(sql), params)


def _edit_reason(session: Session) -> None:
    run(session, "UPDATE audit_entry SET reason = :r WHERE seq = 13", r=SECRET)


def _edit_categories(session: Session) -> None:
    run(session, "UPDATE audit_entry SET categories = :c WHERE seq = 13", c='["mental_health"]')


def _delete_entry(session: Session) -> None:
    run(session, "DELETE FROM audit_entry WHERE seq = 13")


def _edit_leaf(session: Session) -> None:
    leaf = subtree_position(0, 13)
    run(session, "UPDATE audit_subtree SET hash = :h WHERE pos = :p", h=b"\x07" * 32, p=leaf)


def _edit_state_root(session: Session) -> None:
    run(session, "UPDATE audit_tree_state SET root_hash = :h WHERE id = 1", h=b"\x07" * 32)


def _edit_signed_part(session: Session) -> None:
    # The stored hash over entries 0..7, which the last head covers: the stored
    # hashes no longer fold to its signed root, so the new head would not extend it.
    top = subtree_position(3, 0)
    run(session, "UPDATE audit_subtree SET hash = :h WHERE pos = :p", h=b"\x07" * 32, p=top)


TAMPERING: list[tuple[Callable[[Session], None], int]] = [
    (_edit_reason, 13),
    (_edit_categories, 13),
    (_delete_entry, 13),
    (_edit_leaf, 13),
    (_edit_state_root, 12),
    (_edit_signed_part, 0),
]


@pytest.fixture
def grown_log(signed_log: Session) -> Session:
    """The signed log (heads at 5 and 12) with three entries since the last head."""
    append_entries(signed_log, 3, start=12)
    signed_log.flush()
    return signed_log


def test_an_intact_log_is_signed(grown_log: Session, node_keys: MemberKeys) -> None:
    head = sign_tree_head_now(session=grown_log, keys=node_keys, org_id=ORG)
    assert head.tree_size == 15
    assert open_alarm(grown_log) is None
    assert alarm_message(grown_log.connection()) is None


@pytest.mark.parametrize(("tamper", "first_bad"), TAMPERING, ids=[t[0].__name__ for t in TAMPERING])
def test_tampering_since_the_last_head_stops_signing_with_an_alarm(
    grown_log: Session, node_keys: MemberKeys, caplog, tamper, first_bad: int
) -> None:
    tamper(grown_log)
    grown_log.expire_all()
    with caplog.at_level(logging.CRITICAL, logger="joinedup.node.audit"):
        with pytest.raises(AuditSigningHalted):
            sign_tree_head_now(session=grown_log, keys=node_keys, org_id=ORG)
    assert latest_tree_head(grown_log).tree_size == 12  # nothing signed over the edit
    alarm = open_alarm(grown_log)
    assert alarm is not None
    assert alarm.first_bad_index == first_bad
    assert f"from entry {first_bad}" in alarm_message(grown_log.connection())
    (record,) = [r for r in caplog.records if "AUDIT LOG TAMPERED" in r.getMessage()]
    assert SECRET not in record.getMessage()
    # Every signing path keeps refusing: the background signer signs nothing.
    assert (
        maybe_sign_tree_head(session=grown_log, keys=node_keys, org_id=ORG, every=1, seconds=0)
        is None
    )


def test_the_alarm_stays_until_an_operator_resumes_after_repair(
    grown_log: Session, node_keys: MemberKeys
) -> None:
    original = grown_log.get(AuditEntry, 13).reason
    _edit_reason(grown_log)
    grown_log.expire_all()
    with pytest.raises(AuditSigningHalted):
        sign_tree_head_now(session=grown_log, keys=node_keys, org_id=ORG)
    with pytest.raises(AuditSigningHalted, match="still does not match"):
        resume_signing(session=grown_log, keys=node_keys, org_id=ORG, operator_note="tried")
    # The edit is undone (a backup restored), but signing still waits for the operator.
    run(grown_log, "UPDATE audit_entry SET reason = :r WHERE seq = 13", r=original)
    grown_log.expire_all()
    with pytest.raises(AuditSigningHalted, match="until an operator"):
        sign_tree_head_now(session=grown_log, keys=node_keys, org_id=ORG)
    cleared = resume_signing(
        session=grown_log, keys=node_keys, org_id=ORG, operator_note="restored from backup"
    )
    assert cleared == 1
    assert open_alarm(grown_log) is None
    (resumed,) = grown_log.exec(
        select(AuditEntry).where(AuditEntry.action == "resume_signing")
    ).all()
    assert "restored from backup" in resumed.reason
    head = sign_tree_head_now(session=grown_log, keys=node_keys, org_id=ORG)
    assert head.tree_size == 16  # the resume itself is in the log and under the head

"""record_audit, tree heads and proofs on SQLite and PostgreSQL, checked with federation/ only."""

from __future__ import annotations

import pytest
from sqlmodel import Session, select

from federation.merkle import canonical_entry_bytes, root_from_leaves
from federation.tree_head import check_consistency, check_inclusion, verify_tree_head
from node.audit.exceptions import ProofUnavailable
from node.audit.models import AuditEntry
from node.audit.service import (
    get_consistency_proof,
    get_inclusion_proof,
    latest_tree_head,
    maybe_sign_tree_head,
    read_tree_state,
    record_audit,
    sign_tree_head_now,
)
from tests.node.audit.conftest import ORG, append_entries


def test_entries_are_numbered_and_the_root_is_rfc_9162_mth(db_session: Session) -> None:
    entries = append_entries(db_session, 9)
    assert [e.seq for e in entries] == list(range(9))
    stored = db_session.exec(select(AuditEntry).order_by(AuditEntry.seq)).all()  # type: ignore[arg-type]
    assert [e.canonical() for e in stored] == [e.canonical() for e in entries]
    state = read_tree_state(db_session)
    assert state.tree_size == 9
    assert state.root_hash == root_from_leaves(
        [canonical_entry_bytes(e.canonical()) for e in stored]
    )
    assert stored[1].categories == ["health", "housing"]
    assert stored[0].recorded_at.tzinfo is not None


def test_every_entry_has_an_inclusion_proof_against_a_signed_head(
    db_session: Session, node_keys
) -> None:
    entries = append_entries(db_session, 13)
    head = sign_tree_head_now(session=db_session, keys=node_keys, org_id=ORG)
    sth = verify_tree_head(head.jws, node_keys.verify_key, org_id=ORG)
    assert sth.tree_size == 13
    for entry in entries:
        proof = get_inclusion_proof(session=db_session, index=entry.seq, tree_size=13)
        assert check_inclusion(
            entry=entry.canonical(), index=entry.seq, proof=proof.proof, tree_head=sth
        )
    other = get_inclusion_proof(session=db_session, index=3, tree_size=13)
    assert not check_inclusion(
        entry=entries[4].canonical(), index=3, proof=other.proof, tree_head=sth
    )


def test_consistency_proofs_link_every_pair_of_heads(db_session: Session, node_keys) -> None:
    heads = []
    for batch in (1, 3, 4, 8):
        append_entries(db_session, batch, start=read_tree_state(db_session).tree_size)
        record = sign_tree_head_now(session=db_session, keys=node_keys, org_id=ORG)
        heads.append(verify_tree_head(record.jws, node_keys.verify_key))
    for old in heads:
        for new in heads:
            if old.tree_size > new.tree_size:
                continue
            proof = get_consistency_proof(
                session=db_session, first=old.tree_size, second=new.tree_size
            )
            assert check_consistency(old=old, new=new, proof=proof.proof)


def test_proofs_beyond_the_log_are_refused(db_session: Session) -> None:
    append_entries(db_session, 3)
    with pytest.raises(ProofUnavailable):
        get_inclusion_proof(session=db_session, index=2, tree_size=4)
    with pytest.raises(ProofUnavailable):
        get_inclusion_proof(session=db_session, index=3, tree_size=3)
    with pytest.raises(ProofUnavailable):
        get_consistency_proof(session=db_session, first=2, second=9)
    with pytest.raises(ProofUnavailable):
        get_consistency_proof(session=db_session, first=3, second=2)


@pytest.mark.parametrize(
    "bad",
    [
        {"kind": "coffee_break"},
        {"decision": "maybe"},
        {"request_id": ""},
        {"purpose": "p" * 65},
        {"subject_id": 42},
    ],
)
def test_malformed_entries_are_refused_and_nothing_is_written(db_session: Session, bad) -> None:
    fields = {"kind": "login", "request_id": "req-1", "actor_org": ORG, **bad}
    with pytest.raises(ValueError):  # noqa: PT011
        record_audit(session=db_session, **fields)
    assert read_tree_state(db_session).tree_size == 0


def test_a_rolled_back_transaction_leaves_no_entry(db_session: Session) -> None:
    append_entries(db_session, 2)
    savepoint = db_session.begin_nested()
    append_entries(db_session, 3, start=2)
    savepoint.rollback()
    assert read_tree_state(db_session).tree_size == 2
    entry = record_audit(session=db_session, kind="login", request_id="req-x", actor_org=ORG)
    assert entry.seq == 2


def test_tree_heads_are_signed_every_n_entries_and_not_when_idle(
    db_session: Session, node_keys
) -> None:
    first = maybe_sign_tree_head(
        session=db_session, keys=node_keys, org_id=ORG, every=5, seconds=3600
    )
    assert first is not None
    assert first.tree_size == 0
    assert (
        maybe_sign_tree_head(session=db_session, keys=node_keys, org_id=ORG, every=5, seconds=3600)
        is None
    )
    append_entries(db_session, 4)
    assert (
        maybe_sign_tree_head(session=db_session, keys=node_keys, org_id=ORG, every=5, seconds=3600)
        is None
    )
    append_entries(db_session, 1, start=4)
    head = maybe_sign_tree_head(
        session=db_session, keys=node_keys, org_id=ORG, every=5, seconds=3600
    )
    assert head is not None
    assert head.tree_size == 5
    append_entries(db_session, 1, start=5)
    # seconds=0: any growth is old enough to sign.
    later = maybe_sign_tree_head(session=db_session, keys=node_keys, org_id=ORG, every=5, seconds=0)
    assert later is not None
    assert latest_tree_head(db_session).tree_size == 6


def test_a_capped_answer_keeps_the_oldest_for_a_trace_and_the_newest_for_a_customer(
    db_session: Session, node_keys
) -> None:
    from federation.tree_head import check_proven_entries
    from node.audit.queries import AuditScope, entries_with_proofs
    from node.audit.schemas import AuditFilter

    entries = append_entries(db_session, 12)
    subject_seqs = [e.seq for e in entries if e.subject_id == "subj-1"]  # 1, 5, 9
    scope = AuditScope(forced={"subject_id": "subj-1"})

    def proven(newest_first: bool):
        answer = entries_with_proofs(
            session=db_session,
            org_id=ORG,
            filters=AuditFilter(),
            scope=scope,
            keys=node_keys,
            limit=2,
            newest_first=newest_first,
        )
        checked = check_proven_entries(
            answer.model_dump(mode="json"), node_keys.verify_key, org_id=ORG
        )
        return answer.truncated, sorted(e["seq"] for e in checked)

    assert proven(newest_first=False) == (True, subject_seqs[:2])
    assert proven(newest_first=True) == (True, subject_seqs[-2:])

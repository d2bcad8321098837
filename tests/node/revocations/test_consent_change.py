"""A subject's consent version: moved on by every pushed change, read before a token is kept."""

from __future__ import annotations

import uuid
from concurrent.futures import ThreadPoolExecutor

from sqlmodel import Session

from node.revocations.service import consent_version, note_consent_change, record_revocation


def test_each_change_moves_the_version_on_and_other_subjects_keep_theirs(db_engine) -> None:
    subject, other = f"sub_{uuid.uuid4().hex}", f"sub_{uuid.uuid4().hex}"
    assert consent_version(db_engine, subject) == 0
    for expected in (1, 2):
        with Session(db_engine) as session:
            note_consent_change(session=session, subject_id=subject)
            session.commit()
        assert consent_version(db_engine, subject) == expected
    assert consent_version(db_engine, other) == 0


def test_a_revocation_push_moves_the_version_on(db_engine) -> None:
    subject = f"sub_{uuid.uuid4().hex}"
    with Session(db_engine) as session:
        record_revocation(
            session=session,
            consent_id=f"cns_{uuid.uuid4().hex}",
            subject_id=subject,
            revoked_at=1_700_000_000,
            request_id=uuid.uuid4().hex,
            actor_org="consent",
        )
        session.commit()
    assert consent_version(db_engine, subject) == 1


def test_a_rolled_back_change_leaves_the_version(db_engine) -> None:
    subject = f"sub_{uuid.uuid4().hex}"
    with Session(db_engine) as session:
        note_consent_change(session=session, subject_id=subject)
        session.rollback()
    assert consent_version(db_engine, subject) == 0


def test_concurrent_first_changes_count_every_one(db_engine) -> None:
    """Several processes' first pushes for one subject race on the insert: none is lost."""
    subject = f"sub_{uuid.uuid4().hex}"

    def change(_: int) -> None:
        with Session(db_engine) as session:
            note_consent_change(session=session, subject_id=subject)
            session.commit()

    with ThreadPoolExecutor(max_workers=4) as pool:
        list(pool.map(change, range(8)))
    assert consent_version(db_engine, subject) == 8

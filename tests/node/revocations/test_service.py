"""Recording pushed revocations at a node (SQLite, and PostgreSQL when configured)."""

import uuid

from sqlmodel import select

from node.revocations.models import Revocation
from node.revocations.service import load_revocations, record_revocation


def _record(session, consent_id, revoked_at=1_700_000_000):
    return record_revocation(
        session=session,
        consent_id=consent_id,
        subject_id="sub_x",
        revoked_at=revoked_at,
        request_id=uuid.uuid4().hex,
        actor_org="consent",
    )


def test_a_revocation_is_stored_once_and_moves_only_to_a_later_change(db_session):
    consent_id = f"cns_{uuid.uuid4().hex}"
    assert _record(db_session, consent_id) is True
    assert _record(db_session, consent_id) is False  # the same push again
    assert _record(db_session, consent_id, revoked_at=1_600_000_000) is False  # older
    assert _record(db_session, consent_id, revoked_at=1_800_000_000) is True  # amended later
    rows = db_session.exec(select(Revocation).where(Revocation.consent_id == consent_id)).all()
    assert len(rows) == 1
    assert int(rows[0].revoked_at.timestamp()) == 1_800_000_000


def test_a_revocation_is_audited_in_the_same_transaction(db_session):
    from node.audit.models import AuditEntry

    consent_id = f"cns_{uuid.uuid4().hex}"
    _record(db_session, consent_id)
    entries = db_session.exec(
        select(AuditEntry).where(AuditEntry.kind == "revocation_received")
    ).all()
    assert any(consent_id in entry.reason for entry in entries)


def test_revocations_survive_a_restart(db_engine):
    from sqlmodel import Session

    consent_id = f"cns_{uuid.uuid4().hex}"
    with Session(db_engine) as session:
        _record(session, consent_id)
        session.commit()
    revocations = load_revocations(db_engine)
    assert revocations.is_revoked(consent_id)
    assert revocations.revoked_at(consent_id) == 1_700_000_000

"""Recording pushed revocations, and the node's in-memory ``RevocationSet``.

``record_revocation`` stores a revocation idempotently in the caller's transaction
and writes the audit entry ``revocation_received`` beside it (DESIGN "Audit": the
record and its audit entry commit together). ``revocation_state`` is a lifespan
hook that loads every stored revocation into ``app.state.revocations``, which the
share endpoint passes to ``verify_consent_token`` so a token listing a revoked
consent fails even before it expires.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime

import anyio
import sqlalchemy as sa
from fastapi import FastAPI
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from federation.consent_token import RevocationSet
from node.db import utcnow
from node.revocations.models import ConsentChange, Revocation


def record_revocation(
    *,
    session: Session,
    consent_id: str,
    subject_id: str,
    revoked_at: int,
    request_id: str,
    actor_org: str,
) -> bool:
    """Store a revocation or narrowing; False if nothing newer than what is recorded.

    The subject's consent version moves on either way (``note_consent_change``): a
    cached consent token fetched before this push is not used again.

    One row per consent keeps the latest change time: a later push (the consent was
    amended again, or revoked after an amendment) moves it on; a repeat is a no-op.
    """
    changed_at = datetime.fromtimestamp(revoked_at, UTC)
    note_consent_change(session=session, subject_id=subject_id)
    existing = session.exec(select(Revocation).where(Revocation.consent_id == consent_id)).first()
    if existing is not None:
        if int(existing.revoked_at.timestamp()) >= revoked_at:
            return False
        existing.revoked_at = changed_at
        session.add(existing)
    else:
        try:
            with session.begin_nested():
                session.add(
                    Revocation(consent_id=consent_id, subject_id=subject_id, revoked_at=changed_at)
                )
        except IntegrityError:
            return False  # a concurrent push of the same revocation won; same outcome
    _audit(
        session,
        consent_id=consent_id,
        subject_id=subject_id,
        request_id=request_id,
        actor_org=actor_org,
    )
    return True


def note_consent_change(*, session: Session, subject_id: str) -> None:
    """Move the subject's consent version on, in the caller's transaction.

    An UPDATE first (the common case, and atomic under concurrent pushes); the first
    change for a subject inserts, and a concurrent first insert falls back to UPDATE.
    """
    table = ConsentChange.__table__  # type: ignore[attr-defined]
    bump = (
        sa.update(table)
        .where(table.c.subject_id == subject_id)
        .values(version=table.c.version + 1, changed_at=utcnow())
    )
    if session.connection().execute(bump).rowcount:
        return
    try:
        with session.begin_nested():
            session.add(ConsentChange(subject_id=subject_id, version=1))
    except IntegrityError:
        session.connection().execute(bump)


def consent_version(engine: Engine, subject_id: str) -> int:
    """The subject's consent version (0 if no change was ever pushed); blocking."""
    with Session(engine) as session:
        version = session.exec(
            select(ConsentChange.version).where(ConsentChange.subject_id == subject_id)
        ).first()
    return int(version or 0)


def _audit(
    session: Session, *, consent_id: str, subject_id: str, request_id: str, actor_org: str
) -> None:
    try:
        from node.audit.service import record_audit
    except ModuleNotFoundError:  # a node built without the audit domain
        return
    record_audit(
        session=session,
        kind="revocation_received",
        request_id=request_id,
        actor_org=actor_org,
        subject_id=subject_id,
        decision="info",
        reason=f"consent {consent_id} revoked or narrowed: earlier tokens listing it refused",
    )


class StoredRevocations(RevocationSet):
    """The ``revocation`` table seen through one session, with the process's set as a cache.

    A consent the cache already refuses is refused without a query (revocations
    only ever move later). Otherwise the table is asked, by its unique key, so a
    revocation received by any process of this node counts here at once: the
    cache's staleness never lets a revoked consent through.
    """

    def __init__(self, *, session: Session, cache: RevocationSet | None) -> None:
        super().__init__()
        self._session = session
        self._cache = cache if cache is not None else RevocationSet()

    def refuses(self, consent_id: str, issued_at: int) -> bool:
        if self._cache.refuses(consent_id, issued_at):
            return True
        changed = self._stored(consent_id)
        return changed is not None and issued_at <= changed

    def revoked_at(self, consent_id: str) -> int | None:
        return self._stored(consent_id)

    def is_revoked(self, consent_id: str) -> bool:
        return self._stored(consent_id) is not None

    def _stored(self, consent_id: str) -> int | None:
        changed = self._session.exec(
            select(Revocation.revoked_at).where(Revocation.consent_id == consent_id)
        ).first()
        if changed is None:
            return None
        revoked_at = int(changed.timestamp())
        self._cache.add(consent_id, revoked_at)
        return revoked_at


def load_revocations(engine: Engine) -> RevocationSet:
    """Every stored revocation, as a ``RevocationSet``."""
    with Session(engine) as session:
        rows = session.exec(select(Revocation)).all()
        return RevocationSet((row.consent_id, int(row.revoked_at.timestamp())) for row in rows)


@asynccontextmanager
async def revocation_state(app: FastAPI) -> AsyncIterator[None]:
    """Lifespan hook: ``app.state.revocations`` rebuilt from the ``revocation`` table."""
    app.state.revocations = await anyio.to_thread.run_sync(load_revocations, app.state.engine)
    yield

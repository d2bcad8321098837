"""Record a notice once, list a customer's notices, mark one read."""

from __future__ import annotations

import secrets
from datetime import datetime

from sqlmodel import Session, col, select

from consent.db import utcnow
from consent.notices.models import CustomerNotice
from consent.notices.schemas import NoticeCreate, NoticePublic, NoticesPublic
from consent.subjects.service import require_subject
from federation.errors import NotFound


def to_public(notice: CustomerNotice) -> NoticePublic:
    return NoticePublic(**notice.model_dump(exclude={"read_at"}), read=notice.read_at is not None)


def record_notice(
    *, session: Session, notice: NoticeCreate, from_org: str
) -> tuple[CustomerNotice, bool]:
    """Store the notice; the same sender and view again is the same notice (idempotent)."""
    require_subject(session=session, subject_id=notice.subject_id)
    existing = session.exec(
        select(CustomerNotice)
        .where(CustomerNotice.from_org == from_org)
        .where(CustomerNotice.view_id == notice.view_id)
    ).first()
    if existing is not None:
        return existing, False
    row = CustomerNotice(
        id=f"ntc_{secrets.token_urlsafe(12)}",
        from_org=from_org,
        **notice.model_dump(),
    )
    session.add(row)
    session.flush()
    return row, True


def list_notices(*, session: Session, subject_id: str) -> NoticesPublic:
    rows = session.exec(
        select(CustomerNotice)
        .where(CustomerNotice.subject_id == subject_id)
        .order_by(col(CustomerNotice.occurred_at).desc())
    ).all()
    return NoticesPublic(data=[to_public(r) for r in rows], count=len(rows))


def mark_read(
    *, session: Session, subject_id: str, notice_id: str, now: datetime | None = None
) -> CustomerNotice:
    """Mark the customer's own notice read; another customer's is NotFound, like none."""
    notice = session.get(CustomerNotice, notice_id)
    if notice is None or notice.subject_id != subject_id:
        raise NotFound("no such notice")
    if notice.read_at is None:
        notice.read_at = now or utcnow()
        session.add(notice)
    return notice

"""Enrolment: one subject per person, found again through any shared linkage token.

A node enrols a customer by sending the linkage tokens it computed from the
person's identifiers (DESIGN "Identity and linkage"). If any token is already
known, the person is already a subject: the same ``subject_id`` is returned and
the new tokens are attached to it. If tokens point at two different subjects the
match is ambiguous; nothing is merged automatically (a person must decide), so
the request is refused with 409.
"""

from __future__ import annotations

import secrets

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from consent.subjects.models import Subject, SubjectEnrolment, SubjectLinkageToken
from federation.errors import Conflict, NotFound, NotPermitted


def new_subject_id() -> str:
    return f"sub_{secrets.token_hex(16)}"


def enrol_subject(
    *, session: Session, linkage_tokens: list[str], enrolled_by: str
) -> tuple[str, bool]:
    """The subject these tokens identify, creating it if new; returns (subject_id, created)."""
    tokens = sorted(set(linkage_tokens))
    known = session.exec(
        select(SubjectLinkageToken).where(col(SubjectLinkageToken.token).in_(tokens))
    ).all()
    subjects = {row.subject_id for row in known}
    if len(subjects) > 1:
        raise Conflict("linkage tokens match more than one subject; a person must resolve it")
    created = not subjects
    if created:
        subject_id = new_subject_id()
        session.add(Subject(id=subject_id, enrolled_by=enrolled_by))
    else:
        subject_id = subjects.pop()
    if created or not _enrolled(session, subject_id, enrolled_by):
        session.add(SubjectEnrolment(subject_id=subject_id, org_id=enrolled_by))
    present = {row.token for row in known}
    for token in tokens:
        if token not in present:
            session.add(
                SubjectLinkageToken(token=token, subject_id=subject_id, added_by=enrolled_by)
            )
    try:
        session.flush()
    except IntegrityError as exc:
        # Another enrolment of the same person won the race; the caller may retry.
        raise Conflict("concurrent enrolment of the same person; retry") from exc
    return subject_id, created


def require_subject(*, session: Session, subject_id: str) -> Subject:
    subject = session.get(Subject, subject_id)
    if subject is None:
        raise NotFound("unknown subject")
    return subject


def _enrolled(session: Session, subject_id: str, org_id: str) -> bool:
    row = session.exec(
        select(SubjectEnrolment.id)
        .where(SubjectEnrolment.subject_id == subject_id)
        .where(SubjectEnrolment.org_id == org_id)
    ).first()
    return row is not None


def member_knows_subject(*, session: Session, subject_id: str, org_id: str) -> bool:
    """Whether ``org_id`` enrolled the subject.

    Enrolling shows the member holds a record of this person (it computed the
    person's linkage tokens from its own identifiers), which is what entitles it
    to record the person's consent decisions on their behalf. Subjects enrolled
    before enrolments were recorded count their first enroller.
    """
    subject = session.get(Subject, subject_id)
    if subject is None:
        return False
    return subject.enrolled_by == org_id or _enrolled(session, subject_id, org_id)


def require_member_knows_subject(*, session: Session, subject_id: str, org_id: str) -> None:
    """``NotFound`` for an unknown subject, ``NotPermitted`` for a member that holds no record."""
    require_subject(session=session, subject_id=subject_id)
    if not member_knows_subject(session=session, subject_id=subject_id, org_id=org_id):
        raise NotPermitted(
            "this organisation has not enrolled the person, so it may not record their consent"
        )

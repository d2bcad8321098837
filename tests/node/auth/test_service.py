"""Staff accounts: argon2id hashes, sign-in, refusals (SQLite and PostgreSQL)."""

from __future__ import annotations

import pytest
from sqlmodel import Session

from federation.errors import Conflict, NotAuthenticated, ValidationFailed
from node.auth import service

PASSWORD = "a long enough password"


def test_password_is_stored_as_argon2id_hash(db_session: Session) -> None:
    staff = service.create_staff(
        session=db_session, username="asha", password=PASSWORD, role="frontline"
    )
    assert staff.password_hash.startswith("$argon2id$")
    assert PASSWORD not in staff.password_hash


def test_sign_in_with_the_right_password_returns_the_account(db_session: Session) -> None:
    created = service.create_staff(
        session=db_session, username="asha", password=PASSWORD, role="coordinator"
    )
    signed_in = service.authenticate_staff(session=db_session, username="asha", password=PASSWORD)
    assert signed_in.id == created.id
    assert signed_in.last_login_at is not None


@pytest.mark.parametrize(
    ("username", "password"),
    [("asha", "the wrong password"), ("nobody", PASSWORD), ("asha\x00", PASSWORD)],
)
def test_sign_in_fails_alike_for_wrong_password_and_unknown_user(
    db_session: Session, username: str, password: str
) -> None:
    service.create_staff(session=db_session, username="asha", password=PASSWORD, role="frontline")
    with pytest.raises(NotAuthenticated, match="invalid username or password"):
        service.authenticate_staff(session=db_session, username=username, password=password)


def test_deactivated_account_cannot_sign_in(db_session: Session) -> None:
    staff = service.create_staff(
        session=db_session, username="asha", password=PASSWORD, role="frontline"
    )
    assert staff.id is not None
    service.update_staff(session=db_session, staff_id=staff.id, active=False)
    with pytest.raises(NotAuthenticated):
        service.authenticate_staff(session=db_session, username="asha", password=PASSWORD)


def test_duplicate_username_is_a_conflict(db_session: Session) -> None:
    service.create_staff(session=db_session, username="asha", password=PASSWORD, role="frontline")
    with pytest.raises(Conflict):
        service.create_staff(session=db_session, username="asha", password=PASSWORD, role="admin")


@pytest.mark.parametrize(("role", "password"), [("superuser", PASSWORD), ("frontline", "short")])
def test_unknown_role_and_short_password_are_refused(
    db_session: Session, role: str, password: str
) -> None:
    with pytest.raises(ValidationFailed):
        service.create_staff(session=db_session, username="asha", password=password, role=role)

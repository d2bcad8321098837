"""Staff accounts: create, authenticate, list and update (argon2id password hashes).

Used by the token endpoint, the admin endpoints, the ``joinedup node add-staff``
command and the demo. Services flush but never commit (the caller owns the
transaction).
"""

from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlalchemy import func
from sqlmodel import Session, col, select

from federation.errors import Conflict, NotFound, ValidationFailed
from federation.vocabulary import current_vocabulary
from node.auth.exceptions import LastActiveAdmin, SignInRefused
from node.auth.models import Staff
from node.db import utcnow

# argon2id with the library's current (RFC 9106 "second recommended") parameters.
_hasher = PasswordHasher()
# Verified against when the username is unknown, so timing does not reveal it.
_DUMMY_HASH = _hasher.hash("joinedup-no-such-user")
MIN_PASSWORD_LENGTH = 10


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def _check_password_rules(password: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise ValidationFailed(f"password must be at least {MIN_PASSWORD_LENGTH} characters")
    if len(password) > 1024:
        raise ValidationFailed("password is too long")


def _check_role(role: str) -> None:
    # The roles of the taxonomy in force (the node's POLICY_DIR inside the app).
    try:
        current_vocabulary().check("roles", role)
    except ValueError as exc:
        raise ValidationFailed(str(exc)) from exc


def create_staff(
    *, session: Session, username: str, password: str, role: str, display_name: str = ""
) -> Staff:
    """Add a staff account; ``Conflict`` if the username is taken."""
    _check_role(role)
    _check_password_rules(password)
    username = username.strip()
    if not username or len(username) > 64 or "\x00" in username:
        raise ValidationFailed("username must be 1-64 characters without NUL")
    if session.exec(select(Staff).where(Staff.username == username)).first() is not None:
        raise Conflict(f"username {username!r} is already taken")
    staff = Staff(
        username=username,
        display_name=display_name,
        role=role,
        password_hash=hash_password(password),
    )
    session.add(staff)
    session.flush()
    return staff


def find_staff(*, session: Session, username: str) -> Staff | None:
    """The account with exactly this username, active or not; None if there is none."""
    # A NUL can never be in a stored username (and PostgreSQL rejects it in a query).
    if "\x00" in username or len(username) > 64:
        return None
    return session.exec(select(Staff).where(Staff.username == username)).first()


def authenticate_staff(*, session: Session, username: str, password: str) -> Staff:
    """The active account with this username and password; ``SignInRefused`` otherwise.

    ``SignInRefused`` is a ``NotAuthenticated`` with one message for every cause;
    its ``cause`` and ``staff_id`` say which, for the audit entry.
    """
    staff = find_staff(session=session, username=username)
    stored = staff.password_hash if staff is not None else _DUMMY_HASH
    try:
        _hasher.verify(stored, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        if staff is None:
            raise SignInRefused("unknown account") from None
        raise SignInRefused("wrong password", staff_id=staff.id) from None
    if staff is None:
        # Only if someone chose the dummy password as a username's password: still no.
        raise SignInRefused("unknown account")
    if not staff.active:
        raise SignInRefused("disabled account", staff_id=staff.id)
    if _hasher.check_needs_rehash(staff.password_hash):
        staff.password_hash = hash_password(password)
    staff.last_login_at = utcnow()
    session.add(staff)
    session.flush()
    return staff


def get_staff(*, session: Session, staff_id: int) -> Staff:
    staff = session.get(Staff, staff_id)
    if staff is None:
        raise NotFound(f"staff {staff_id} not found")
    return staff


def list_staff(*, session: Session, offset: int, limit: int) -> tuple[list[Staff], int]:
    rows = session.exec(select(Staff).order_by(col(Staff.id)).offset(offset).limit(limit)).all()
    count = session.exec(select(func.count()).select_from(Staff)).one()
    return list(rows), int(count)


def update_staff(
    *,
    session: Session,
    staff_id: int,
    role: str | None = None,
    active: bool | None = None,
    display_name: str | None = None,
    password: str | None = None,
) -> Staff:
    """Change an account's role, status, display name or password.

    ``LastActiveAdmin`` (409) if it would leave no active admin: then nobody could
    add, enable or promote staff again short of the command line.
    """
    staff = get_staff(session=session, staff_id=staff_id)
    was_active_admin = staff.active and staff.role == "admin"
    if role is not None:
        _check_role(role)
        staff.role = role
    if active is not None:
        staff.active = active
    if display_name is not None:
        staff.display_name = display_name
    if password is not None:
        _check_password_rules(password)
        staff.password_hash = hash_password(password)
    staff.updated_at = utcnow()
    session.add(staff)
    session.flush()
    if was_active_admin and not (staff.active and staff.role == "admin"):
        _require_an_active_admin(session)
    return staff


def _require_an_active_admin(session: Session) -> None:
    admins = session.exec(
        select(func.count()).select_from(Staff).where(Staff.role == "admin", col(Staff.active))
    ).one()
    if int(admins) == 0:
        raise LastActiveAdmin(
            "this would leave the organisation without an active admin; "
            "make another account an admin first"
        )

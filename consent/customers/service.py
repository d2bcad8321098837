"""Customer accounts: creation, one-time activation and recovery codes, password login.

Passwords are hashed with argon2id (argon2-cffi's defaults, RFC 9106's second
recommended option). A member node requests an account for an enrolled customer
and receives a one-time activation code to hand over in person; only its SHA-256 is
stored. ``create_customer_account`` makes an already-active account directly, for
the CLI and the demo. Login failures say nothing about which part was wrong, and an
unknown username costs the same hashing work as a wrong password.

A person locked out (forgotten password, or a lockout they cannot wait out) asks an
organisation that enrolled them, which issues a one-time *recovery* code
(``issue_recovery_code``, through the signed member API or the CLI) and hands it
over as it did the activation code; ``set_password_with_code`` takes either kind.
A new code voids the account's earlier unused ones.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from consent.customers.models import CustomerAccount, CustomerActivation
from consent.db import utcnow
from consent.subjects.models import SubjectEnrolment
from consent.subjects.service import require_subject
from federation.errors import Conflict, NotAuthenticated, NotFound, NotPermitted, ValidationFailed

# ``issued_by`` of codes made at the service's own command line (its operator).
OPERATOR = "cli"

_hasher = PasswordHasher()
# Verified against when the username is unknown, so timing does not reveal accounts.
_DUMMY_HASH = _hasher.hash(secrets.token_urlsafe(16))
MIN_PASSWORD_LENGTH = 10


def _code_hash(code: str) -> str:
    return hashlib.sha256(code.encode()).hexdigest()


def _check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise ValidationFailed(f"password must have at least {MIN_PASSWORD_LENGTH} characters")


def _new_account(
    session: Session, *, subject_id: str, username: str, created_by: str
) -> CustomerAccount:
    require_subject(session=session, subject_id=subject_id)
    if session.exec(select(CustomerAccount).where(CustomerAccount.username == username)).first():
        raise Conflict("username already taken")
    existing = session.exec(
        select(CustomerAccount).where(CustomerAccount.subject_id == subject_id)
    ).first()
    if existing is not None:
        raise Conflict("this customer already has an account")
    account = CustomerAccount(subject_id=subject_id, username=username, created_by=created_by)
    session.add(account)
    try:
        session.flush()
    except IntegrityError as exc:
        raise Conflict("username or customer already has an account") from exc
    return account


def create_customer_account(
    *, session: Session, subject_id: str, username: str, password: str, created_by: str = "cli"
) -> CustomerAccount:
    """An active account with a password, for the CLI and the demo."""
    _check_password(password)
    account = _new_account(session, subject_id=subject_id, username=username, created_by=created_by)
    account.password_hash = _hasher.hash(password)
    account.activated_at = utcnow()
    session.add(account)
    session.flush()
    return account


def request_customer_account(
    *,
    session: Session,
    subject_id: str,
    username: str,
    created_by: str,
    code_ttl_s: int,
    now: datetime | None = None,
) -> tuple[CustomerAccount, str, datetime]:
    """An inactive account and a one-time activation code (returned once, stored hashed)."""
    account = _new_account(session, subject_id=subject_id, username=username, created_by=created_by)
    code, expires_at = _new_code(
        session, account, purpose="activation", issued_by=created_by, ttl_s=code_ttl_s, now=now
    )
    return account, code, expires_at


def issue_recovery_code(
    *,
    session: Session,
    subject_id: str,
    issued_by: str,
    code_ttl_s: int,
    now: datetime | None = None,
) -> tuple[CustomerAccount, str, datetime]:
    """A one-time code to set a new password (returned once, stored hashed).

    Only an organisation that enrolled the person (``NotPermitted`` otherwise) or the
    operator (``OPERATOR``) may issue one; ``NotFound`` if the person has no account.
    """
    if issued_by != OPERATOR:
        enrolled = session.exec(
            select(SubjectEnrolment).where(
                SubjectEnrolment.subject_id == subject_id, SubjectEnrolment.org_id == issued_by
            )
        ).first()
        if enrolled is None:
            raise NotPermitted("only an organisation that enrolled this person may do this")
    account = session.exec(
        select(CustomerAccount).where(CustomerAccount.subject_id == subject_id)
    ).first()
    if account is None or not account.active:
        raise NotFound("this person has no active customer account")
    code, expires_at = _new_code(
        session, account, purpose="recovery", issued_by=issued_by, ttl_s=code_ttl_s, now=now
    )
    return account, code, expires_at


def _new_code(
    session: Session,
    account: CustomerAccount,
    *,
    purpose: str,
    issued_by: str,
    ttl_s: int,
    now: datetime | None,
) -> tuple[str, datetime]:
    at = now or utcnow()
    assert account.id is not None
    for earlier in session.exec(
        select(CustomerActivation).where(
            CustomerActivation.account_id == account.id,
            col(CustomerActivation.used_at).is_(None),
            CustomerActivation.expires_at > at,
        )
    ).all():
        earlier.expires_at = at  # void: only the newest code works
        session.add(earlier)
    code = secrets.token_urlsafe(24)
    expires_at = at + timedelta(seconds=ttl_s)
    session.add(
        CustomerActivation(
            account_id=account.id,
            code_hash=_code_hash(code),
            purpose=purpose,
            issued_by=issued_by,
            expires_at=expires_at,
        )
    )
    session.flush()
    return code, expires_at


def set_password_with_code(
    *, session: Session, code: str, password: str, now: datetime | None = None
) -> tuple[CustomerAccount, CustomerActivation]:
    """Set the password with a one-time activation or recovery code; an unknown, used
    or expired code is 401. Returns the account and the code's (now used) record."""
    _check_password(password)
    at = now or utcnow()
    activation = session.exec(
        select(CustomerActivation).where(CustomerActivation.code_hash == _code_hash(code))
    ).first()
    if activation is None or activation.used_at is not None or activation.expires_at <= at:
        raise NotAuthenticated("code invalid, used or expired")
    account = session.get(CustomerAccount, activation.account_id)
    if account is None or not account.active:
        raise NotAuthenticated("code invalid, used or expired")
    activation.used_at = at
    account.password_hash = _hasher.hash(password)
    account.activated_at = account.activated_at or at
    session.add(activation)
    session.add(account)
    session.flush()
    return account, activation


def authenticate_customer(*, session: Session, username: str, password: str) -> CustomerAccount:
    """The account for these credentials; ``NotAuthenticated`` for any mismatch."""
    account = session.exec(
        select(CustomerAccount).where(CustomerAccount.username == username)
    ).first()
    stored = account.password_hash if account is not None else None
    try:
        _hasher.verify(stored or _DUMMY_HASH, password)
        ok = stored is not None
    except (VerificationError, InvalidHashError):
        ok = False
    if not ok or account is None or not account.active:
        raise NotAuthenticated("username or password incorrect")
    if _hasher.check_needs_rehash(stored or ""):
        account.password_hash = _hasher.hash(password)
        session.add(account)
    return account


def get_active_account(*, session: Session, account_id: int, subject_id: str) -> CustomerAccount:
    account = session.get(CustomerAccount, account_id)
    if account is None or not account.active or account.subject_id != subject_id:
        raise NotAuthenticated("the account behind this token is not active")
    return account

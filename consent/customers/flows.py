"""Customer sign-in and password (re)set, with the sign-in brake and a log line each.

The brake is ``appkit.throttle`` on the consent service's database (the node's staff
sign-in uses the same): 5 failures for a username lock it for a minute, 20 from one
address lock that address for five. Each refusal, lockout, sign-in and password set
is logged with the account's row id and the kind of event only: never a username,
password, code or address (a username is often a person's name). The persistent
record of every password set is its code's row (purpose, issuer, issued, used).
"""

from __future__ import annotations

import logging

from sqlmodel import Session

from appkit.throttle import SignInThrottle, TooManySignIns
from consent.customers.models import CustomerAccount
from consent.customers.service import authenticate_customer, set_password_with_code
from federation.errors import NotAuthenticated

__all__ = ["reset_password", "sign_in_customer"]

log = logging.getLogger("joinedup.consent.customers")


def sign_in_customer(
    *, session: Session, throttle: SignInThrottle, username: str, password: str, client: str
) -> CustomerAccount:
    """The account for these credentials; ``TooManySignIns`` (429) while locked out,
    ``NotAuthenticated`` (401) for any mismatch, counted against the brake."""
    try:
        throttle.check(username=username, client=client)
    except TooManySignIns as locked:
        log.warning("customer sign-in refused: locked out", extra={"limit": locked.limit.scope})
        raise
    try:
        account = authenticate_customer(session=session, username=username, password=password)
    except NotAuthenticated:
        lockouts = throttle.failed(username=username, client=client)
        log.info(
            "customer sign-in refused",
            extra={"locked": [limit.scope for limit in lockouts]},
        )
        raise
    throttle.succeeded(session=session, username=username)
    log.info("customer signed in", extra={"account_id": account.id})
    return account


def reset_password(
    *, session: Session, throttle: SignInThrottle, code: str, password: str
) -> CustomerAccount:
    """Set a password with a one-time activation or recovery code, and lift the
    username's lockout (the person proved who they are with the code)."""
    account, used = set_password_with_code(session=session, code=code, password=password)
    throttle.succeeded(session=session, username=account.username)
    log.info(
        "customer password set with a one-time code",
        extra={"account_id": account.id, "purpose": used.purpose, "issued_by": used.issued_by},
    )
    return account

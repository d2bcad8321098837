"""Audited staff workflows: sign-in (API and staff pages) and staff administration.

Each writes its ``login`` or ``admin_change`` entry with
``node.audit.service.record_audit`` (DESIGN "Audit"). What the entries hold:

- ``actor_staff`` is a staff pseudonym (``node.auth.tokens.staff_pseudonym``), never
  a username: usernames are often people's names, and what a guesser types may even
  be a password typed into the wrong field. A refused sign-in for an existing account
  names that account's pseudonym (the account someone tried to enter, not a proven
  person) and no role; one for an unknown username names nobody.
- ``reason`` says what happened (``wrong password (API token)``, ``created staff
  account 12 with role coordinator``, ``staff account 12: role frontline ->
  coordinator, disabled, password reset``): staff ids and roles only, never a
  password, hash, username or display name.

A successful sign-in or change is audited in the caller's transaction, as the last
write, so the entry commits or rolls back with ``last_login_at`` or the account
change. A *refused* sign-in has nothing to commit and answers 401 or 429 by raising,
and the request's session (``node.db.get_session``) rolls back on an exception, so
its entry would be lost; it is therefore written in a session of its own on the same
engine and committed at once, before the refusal is raised. The request's session
has only read at that point, so the second session waits on no lock it holds.
"""

from __future__ import annotations

import uuid

from sqlalchemy.engine import Engine
from sqlmodel import Session

from appkit.throttle import SignInThrottle
from federation.keys import MemberKeys
from node.audit.service import record_audit
from node.auth import service
from node.auth.exceptions import SignInRefused, TooManySignIns
from node.auth.models import Staff
from node.auth.tokens import staff_pseudonym

__all__ = ["add_staff", "change_staff", "cli_request_id", "sign_in_staff"]

SIGN_IN_ACTION = "sign_in"
CHANNELS = {"api": "API token", "web": "staff pages"}


def sign_in_staff(
    *,
    session: Session,
    engine: Engine,
    throttle: SignInThrottle,
    username: str,
    password: str,
    client: str,
    channel: str,
    org_id: str,
    keys: MemberKeys,
    request_id: str,
) -> Staff:
    """Check a staff sign-in and audit it, allowed or refused.

    Raises ``SignInRefused`` (401) or ``TooManySignIns`` (429, the username or the
    ``client`` address locked out) after the refusal's entry is committed.
    """
    via = CHANNELS[channel]
    try:
        throttle.check(username=username, client=client)
    except TooManySignIns as locked:
        account = service.find_staff(session=session, username=username)
        record_refusal(
            engine=engine,
            org_id=org_id,
            request_id=request_id,
            actor_staff=_pseudonym(account.id if account else None, keys),
            reason=(
                f"too many failed sign-ins {locked.limit.what}, "
                f"refused without checking the password ({via})"
            ),
        )
        raise
    try:
        staff = service.authenticate_staff(session=session, username=username, password=password)
    except SignInRefused as refused:
        lockouts = throttle.failed(username=username, client=client)
        lockout = "".join(
            f"; sign-ins {limit.what} locked for {int(limit.lockout_s)} s" for limit in lockouts
        )
        record_refusal(
            engine=engine,
            org_id=org_id,
            request_id=request_id,
            actor_staff=_pseudonym(refused.staff_id, keys),
            reason=f"{refused.cause} ({via}){lockout}",
        )
        raise
    throttle.succeeded(session=session, username=username)
    record_sign_in(
        session=session, staff=staff, org_id=org_id, keys=keys, request_id=request_id, via=via
    )
    return staff


def record_sign_in(
    *,
    session: Session,
    staff: Staff,
    org_id: str,
    keys: MemberKeys,
    request_id: str,
    via: str,
    change: str = "",
) -> None:
    """The ``login`` allow entry, in the sign-in's own transaction (local or provider)."""
    assert staff.id is not None
    record_audit(
        session=session,
        kind="login",
        request_id=request_id,
        actor_org=org_id,
        actor_staff=staff_pseudonym(staff.id, keys),
        actor_role=staff.role,
        action=SIGN_IN_ACTION,
        decision="allow",
        reason=f"signed in ({via}){change}",
    )


def _pseudonym(staff_id: int | None, keys: MemberKeys) -> str | None:
    return None if staff_id is None else staff_pseudonym(staff_id, keys)


def record_refusal(
    *, engine: Engine, org_id: str, request_id: str, actor_staff: str | None, reason: str
) -> None:
    # Its own transaction, committed now: the request's rolls back with the 401/429.
    with Session(engine) as own:
        record_audit(
            session=own,
            kind="login",
            request_id=request_id,
            actor_org=org_id,
            actor_staff=actor_staff,
            action=SIGN_IN_ACTION,
            decision="deny",
            reason=reason,
        )
        own.commit()


def add_staff(
    *,
    session: Session,
    org_id: str,
    actor_staff: str | None,
    actor_role: str | None,
    request_id: str,
    username: str,
    password: str,
    role: str,
    display_name: str = "",
) -> Staff:
    """Create a staff account and audit it (``actor_staff`` None: the command line)."""
    staff = service.create_staff(
        session=session,
        username=username,
        password=password,
        role=role,
        display_name=display_name,
    )
    via = " from the command line" if actor_staff is None else ""
    record_audit(
        session=session,
        kind="admin_change",
        request_id=request_id,
        actor_org=org_id,
        actor_staff=actor_staff,
        actor_role=actor_role,
        action="staff_create",
        decision="allow",
        reason=f"created staff account {staff.id} with role {staff.role}{via}",
    )
    return staff


def change_staff(
    *,
    session: Session,
    org_id: str,
    actor_staff: str | None,
    actor_role: str | None,
    request_id: str,
    staff_id: int,
    role: str | None = None,
    active: bool | None = None,
    display_name: str | None = None,
    password: str | None = None,
) -> Staff:
    """Change a staff account and audit what changed (never the new values of secrets)."""
    before = service.get_staff(session=session, staff_id=staff_id)
    old_role, old_active, old_name = before.role, before.active, before.display_name
    staff = service.update_staff(
        session=session,
        staff_id=staff_id,
        role=role,
        active=active,
        display_name=display_name,
        password=password,
    )
    changes = []
    if staff.role != old_role:
        changes.append(f"role {old_role} -> {staff.role}")
    if staff.active != old_active:
        changes.append("enabled" if staff.active else "disabled")
    if staff.display_name != old_name:
        changes.append("display name changed")
    if password is not None:
        changes.append("password reset")
    record_audit(
        session=session,
        kind="admin_change",
        request_id=request_id,
        actor_org=org_id,
        actor_staff=actor_staff,
        actor_role=actor_role,
        action="staff_update",
        decision="allow" if changes else "info",
        reason=f"staff account {staff_id}: {', '.join(changes) or 'no change'}",
    )
    return staff


def cli_request_id() -> str:
    """A request id for an administrative command run at the node's command line."""
    return f"cli-{uuid.uuid4().hex}"

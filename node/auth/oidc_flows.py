"""Audited sign-in through the identity provider: validated claims -> staff account.

``node.auth.oidc`` validates what the provider says; this module, called after the
network calls are over (no database connection is held while the node waits on the
provider), turns it into a ``staff`` row and a ``login`` audit entry, exactly as a
local sign-in is audited (``node.auth.flows``):

- The account is keyed by a hash of the provider's issuer and subject
  (``provider_username``), never by an e-mail address or a name, so audit entries
  and usernames carry no personal data. It is created on first sign-in; its role
  and display name follow the provider on every sign-in, so a group removed at the
  provider takes effect at the next sign-in (and an existing staff token dies then,
  because tokens are re-checked against the role on every request).
- It has no usable password (``PROVIDER_ONLY_HASH`` is no argon2 hash, so a
  password sign-in to it is refused as a wrong password).
- A disabled account (an admin switched it off here) is refused even though the
  provider vouches for the person.
- A refusal is committed in its own transaction, before the caller raises.
"""

from __future__ import annotations

import hashlib
from typing import Any

from sqlalchemy.engine import Engine
from sqlmodel import Session

from federation.keys import MemberKeys
from node.audit.service import record_audit
from node.auth import service
from node.auth.exceptions import OidcSignInRefused
from node.auth.flows import SIGN_IN_ACTION, _record_refusal
from node.auth.models import Staff
from node.auth.tokens import staff_pseudonym
from node.db import utcnow

__all__ = ["PROVIDER_ONLY_HASH", "provider_username", "record_oidc_refusal", "sign_in_oidc_staff"]

PROVIDER_ONLY_HASH = "!identity-provider-only"
VIA = "identity provider"


def provider_username(issuer: str, subject: str) -> str:
    """``idp:`` and 40 hex chars of SHA-256(issuer, subject): stable, and no personal data."""
    digest = hashlib.sha256(f"{issuer}\n{subject}".encode()).hexdigest()
    return f"idp:{digest[:40]}"


def sign_in_oidc_staff(
    *,
    session: Session,
    engine: Engine,
    claims: dict[str, Any],
    role: str,
    issuer: str,
    org_id: str,
    keys: MemberKeys,
    request_id: str,
) -> Staff:
    """The provider-backed account for validated ``claims``, created or updated, and audited."""
    username = provider_username(issuer, str(claims["sub"]))
    name = claims.get("name")
    display_name = name[:200] if isinstance(name, str) else ""
    staff = service.find_staff(session=session, username=username)
    if staff is not None and staff.password_hash != PROVIDER_ONLY_HASH:
        # A local account that happens to bear the name: never merge the two.
        record_oidc_refusal(
            engine=engine,
            org_id=org_id,
            request_id=request_id,
            cause="name clash with a local account",
        )
        raise OidcSignInRefused("name clash with a local account")
    if staff is not None and not staff.active:
        assert staff.id is not None
        record_oidc_refusal(
            engine=engine,
            org_id=org_id,
            request_id=request_id,
            cause="disabled account",
            actor_staff=staff_pseudonym(staff.id, keys),
        )
        raise OidcSignInRefused("disabled account")
    created = staff is None
    if staff is None:
        staff = Staff(username=username, password_hash=PROVIDER_ONLY_HASH, role=role)
    old_role = staff.role
    staff.role, staff.display_name = role, display_name
    staff.last_login_at = staff.updated_at = utcnow()
    session.add(staff)
    session.flush()
    assert staff.id is not None
    if created:
        change = f"; created staff account {staff.id} with role {role}"
    elif old_role != role:
        change = f"; role {old_role} -> {role} from the provider's groups"
    else:
        change = ""
    record_audit(
        session=session,
        kind="login",
        request_id=request_id,
        actor_org=org_id,
        actor_staff=staff_pseudonym(staff.id, keys),
        actor_role=staff.role,
        action=SIGN_IN_ACTION,
        decision="allow",
        reason=f"signed in ({VIA}){change}",
    )
    return staff


def record_oidc_refusal(
    *, engine: Engine, org_id: str, request_id: str, cause: str, actor_staff: str | None = None
) -> None:
    """Commit the ``login`` deny entry for a refused provider sign-in, in its own session."""
    _record_refusal(
        engine=engine,
        org_id=org_id,
        request_id=request_id,
        actor_staff=actor_staff,
        reason=f"{cause} ({VIA})",
    )

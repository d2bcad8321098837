"""Audited sign-in through the identity provider: the provider's answer -> staff account.

``complete_sign_in`` is the whole callback step: it checks the browser's flow, trades
the code for an ID token and validates it (``node.auth.oidc``), maps the groups to a
role, and only then, with the network calls over (no database connection is held
while the node waits on the provider), turns the claims into a ``staff`` row and a
``login`` audit entry in a thread, exactly as a local sign-in is audited
(``node.auth.flows``). Every refusal is audited before ``OidcSignInRefused`` is
raised:

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
from collections.abc import Mapping
from functools import partial
from typing import Any

import anyio
import httpx
from sqlalchemy.engine import Engine
from sqlmodel import Session

from federation.keys import MemberKeys
from node.auth import service
from node.auth.exceptions import OidcSignInRefused
from node.auth.flows import record_refusal, record_sign_in
from node.auth.models import Staff
from node.auth.oidc import OidcFlow, OidcProvider, map_role, read_flow
from node.auth.tokens import staff_pseudonym
from node.config import NodeSettings
from node.db import utcnow

__all__ = [
    "PROVIDER_ONLY_HASH",
    "complete_sign_in",
    "provider_username",
    "record_oidc_refusal",
    "sign_in_oidc_staff",
]

PROVIDER_ONLY_HASH = "!identity-provider-only"
VIA = "identity provider"


def provider_username(issuer: str, subject: str) -> str:
    """``idp:`` and 40 hex chars of SHA-256(issuer, subject): stable, and no personal data."""
    digest = hashlib.sha256(f"{issuer}\n{subject}".encode()).hexdigest()
    return f"idp:{digest[:40]}"


async def complete_sign_in(
    *,
    provider: OidcProvider,
    http: httpx.AsyncClient,
    engine: Engine,
    settings: NodeSettings,
    keys: MemberKeys,
    query: Mapping[str, str],
    flow_cookie: str | None,
    redirect_uri: str,
    request_id: str,
) -> tuple[Staff, str]:
    """The signed-in account and the page to go to; ``OidcSignInRefused`` (audited) if not."""
    try:
        flow, claims, role = await _check_answer(
            provider=provider,
            http=http,
            settings=settings,
            keys=keys,
            query=query,
            flow_cookie=flow_cookie,
            redirect_uri=redirect_uri,
        )
    except OidcSignInRefused as refused:
        record = partial(
            record_oidc_refusal,
            engine=engine,
            org_id=settings.org_id,
            request_id=request_id,
            cause=refused.cause,
        )
        await anyio.to_thread.run_sync(record)
        raise
    sign_in = partial(
        _sign_in_committed,
        engine=engine,
        claims=claims,
        role=role,
        issuer=provider.issuer,
        org_id=settings.org_id,
        keys=keys,
        request_id=request_id,
    )
    staff = await anyio.to_thread.run_sync(sign_in)
    return staff, flow.next_page


async def _check_answer(
    *,
    provider: OidcProvider,
    http: httpx.AsyncClient,
    settings: NodeSettings,
    keys: MemberKeys,
    query: Mapping[str, str],
    flow_cookie: str | None,
    redirect_uri: str,
) -> tuple[OidcFlow, dict[str, Any], str]:
    if query.get("error"):
        raise OidcSignInRefused("the provider refused or the person cancelled")
    flow = read_flow(flow_cookie, state=query.get("state"), keys=keys)
    code = query.get("code")
    if not code or len(code) > 2048:
        raise OidcSignInRefused("no authorization code")
    id_token = await provider.exchange_code(http, code=code, flow=flow, redirect_uri=redirect_uri)
    claims = await provider.validate_id_token(http, id_token, nonce=flow.nonce)
    role = map_role(claims, groups_claim=settings.oidc_groups_claim, roles=settings.oidc_roles)
    return flow, claims, role


def _sign_in_committed(*, engine: Engine, **kwargs: Any) -> Staff:
    with Session(engine) as session:
        staff = sign_in_oidc_staff(session=session, engine=engine, **kwargs)
        session.commit()
        session.refresh(staff)
        session.expunge(staff)
    return staff


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
    record_sign_in(
        session=session,
        staff=staff,
        org_id=org_id,
        keys=keys,
        request_id=request_id,
        via=VIA,
        change=change,
    )
    return staff


def record_oidc_refusal(
    *, engine: Engine, org_id: str, request_id: str, cause: str, actor_staff: str | None = None
) -> None:
    """Commit the ``login`` deny entry for a refused provider sign-in, in its own session."""
    record_refusal(
        engine=engine,
        org_id=org_id,
        request_id=request_id,
        actor_staff=actor_staff,
        reason=f"{cause} ({VIA})",
    )

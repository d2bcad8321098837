"""Who is calling: ``CurrentStaff`` and ``RequireRole(...)`` for every staff endpoint.

A request is authenticated by a bearer token issued by ``POST /auth/token``
(``node.auth.tokens``). The token is verified, then the account is re-read so a
deactivated account or a changed role takes effect at once rather than at expiry.

    @router.get("/audit", dependencies=[Depends(RequireRole("auditor"))])
    def list_audit(staff: Annotated[StaffPrincipal, Depends(RequireRole("auditor"))]): ...
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import OAuth2PasswordBearer
from pydantic import BaseModel

from appkit.throttle import SignInThrottle, client_address
from federation.errors import NotAuthenticated, NotPermitted
from node.auth.models import Staff, StaffSignInThrottle
from node.auth.tokens import verify_staff_token
from node.db import SessionDep, release_connection

oauth2_scheme = OAuth2PasswordBearer(
    tokenUrl="/auth/token",
    auto_error=False,
    description="Short-lived staff access token from POST /auth/token.",
)

# Roles that work with the organisation's own person records.
RECORD_ROLES = ("frontline", "coordinator", "safeguarding_lead")


class StaffPrincipal(BaseModel):
    """The authenticated staff member behind a request."""

    staff_id: int
    username: str
    role: str
    pseudonym: str
    org_id: str
    display_name: str = ""


def current_staff(
    request: Request,
    session: SessionDep,
    token: Annotated[str | None, Depends(oauth2_scheme)],
) -> StaffPrincipal:
    """The staff member the bearer token names; 401 if missing, bad or out of date."""
    if not token:
        raise NotAuthenticated("a bearer token is required (POST /auth/token)")
    settings = request.app.state.settings
    claims = verify_staff_token(token, org_id=settings.org_id, keys=request.app.state.keys)
    staff = session.get(Staff, int(claims["sub"]))
    # The handler may await partners next (POST /views): give the connection back now.
    release_connection(session)
    if staff is None or not staff.active:
        raise NotAuthenticated("the account behind this token is not active")
    if staff.role != claims["role"]:
        raise NotAuthenticated("the account's role has changed; sign in again")
    return StaffPrincipal(
        staff_id=int(claims["sub"]),
        username=staff.username,
        role=staff.role,
        pseudonym=str(claims["pseudonym"]),
        org_id=settings.org_id,
        display_name=staff.display_name,
    )


CurrentStaff = Annotated[StaffPrincipal, Depends(current_staff)]


def RequireRole(*roles: str) -> Callable[[StaffPrincipal], Awaitable[StaffPrincipal]]:  # noqa: N802
    """A dependency admitting only staff holding one of ``roles`` (403 otherwise)."""
    allowed = frozenset(roles)

    async def require_role(staff: CurrentStaff) -> StaffPrincipal:
        if staff.role not in allowed:
            raise NotPermitted(
                f"role {staff.role!r} may not do this; needs one of {', '.join(sorted(allowed))}"
            )
        return staff

    return require_role


RecordStaff = Annotated[StaffPrincipal, Depends(RequireRole(*RECORD_ROLES))]
AdminStaff = Annotated[StaffPrincipal, Depends(RequireRole("admin"))]


def sign_in_throttle(request: Request) -> SignInThrottle:
    """The failed-sign-in brake (``appkit.throttle``) on the node's database."""
    return SignInThrottle(request.app.state.engine, StaffSignInThrottle)


def request_id(request: Request) -> str:
    """The request id the middleware assigned (a fresh one if it did not run)."""
    return getattr(request.state, "request_id", None) or uuid.uuid4().hex


SignInThrottleDep = Annotated[SignInThrottle, Depends(sign_in_throttle)]
ClientAddress = Annotated[str, Depends(client_address)]
RequestId = Annotated[str, Depends(request_id)]

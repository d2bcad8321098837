"""Who is signed in to the staff pages, and what they may open.

The browser holds the same short-lived staff JWT that ``POST /auth/token`` issues,
but in an ``HttpOnly``, ``SameSite=Strict`` cookie rather than script-readable
storage, so a script injected into a page cannot steal it. It is checked exactly as
a bearer token is (``node.auth.dependencies.current_staff``): signature, expiry,
active account, unchanged role. ``WebRole(...)`` admits only the listed roles.
POST handlers take ``CsrfForm``: the parsed form, already checked for CSRF.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

from fastapi import Depends, Request
from starlette.datastructures import FormData

from federation.errors import NotFound, NotPermitted
from node.auth.dependencies import RECORD_ROLES, StaffPrincipal, current_staff
from node.auth.oidc import CALLBACK_PATH, OidcProvider
from node.config import NodeSettings
from node.db import SessionDep
from node.web.pages import KIT, SESSION_COOKIE, UI_PREFIX


def web_staff(request: Request, session: SessionDep) -> StaffPrincipal:
    """The staff member named by the session cookie; redirects to sign-in otherwise."""
    token = request.cookies.get(SESSION_COOKIE)
    staff = current_staff(request, session, token)
    request.state.web_staff = staff
    return staff


WebStaff = Annotated[StaffPrincipal, Depends(web_staff)]


def WebRole(*roles: str) -> Callable[[StaffPrincipal], StaffPrincipal]:  # noqa: N802
    """A dependency admitting only staff holding one of ``roles`` (a 403 page otherwise)."""
    allowed = frozenset(roles)

    def require_web_role(staff: WebStaff) -> StaffPrincipal:
        if staff.role not in allowed:
            raise NotPermitted("This page is for other roles than yours.")
        return staff

    return require_web_role


RecordWebStaff = Annotated[StaffPrincipal, Depends(WebRole(*RECORD_ROLES))]
AuditorWebStaff = Annotated[StaffPrincipal, Depends(WebRole("auditor"))]


CsrfForm = Annotated[FormData, Depends(KIT.csrf_form)]


def oidc_provider(request: Request) -> OidcProvider:
    """The app's identity-provider client (made on first use); 404 if none is configured."""
    settings: NodeSettings = request.app.state.settings
    if not settings.oidc_enabled:
        raise NotFound("This organisation does not sign in through an identity provider.")
    provider: OidcProvider | None = getattr(request.app.state, "oidc_provider", None)
    if provider is None:
        provider = request.app.state.oidc_provider = OidcProvider(settings)
    return provider


OidcProviderDep = Annotated[OidcProvider, Depends(oidc_provider)]


def callback_url(request: Request) -> str:
    """The address the provider sends the browser back to (registered with the provider)."""
    public = request.app.state.settings.public_url
    base = public.rstrip("/") if public else str(request.base_url).rstrip("/")
    return base + CALLBACK_PATH


async def end_provider_session(request: Request) -> str | None:
    """Where sign-out sends the browser so the provider's session ends too (or None)."""
    settings: NodeSettings = request.app.state.settings
    if not settings.oidc_enabled:
        return None
    after = callback_url(request).removesuffix(CALLBACK_PATH) + f"{UI_PREFIX}/login"
    return await oidc_provider(request).end_session_url(request.app.state.http, after=after)

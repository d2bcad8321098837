"""The staff pages under ``/ui``: sign-in, sign-out, the stylesheet, and the page routers.

Server-rendered HTML (Jinja2), one stylesheet, inline SVG; every flow works with
scripts off. Sign-in checks the username and password with the node's own audited
sign-in flow (``node.auth.flows``, the one ``POST /auth/token`` uses) in-process,
so every attempt, allowed or refused, has its ``login`` audit entry; it keeps the
resulting JWT in an ``HttpOnly``, ``SameSite=Strict`` cookie. The pages are left
out of the OpenAPI schema: they are for people, and their JSON twins are the real
API.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import RedirectResponse, Response

from appkit.pages import SIGN_IN_INCOMPLETE, SIGN_IN_REFUSED
from federation.errors import NotAuthenticated
from node.auth.dependencies import (
    RECORD_ROLES,
    ClientAddress,
    RequestId,
    SignInThrottleDep,
)
from node.auth.exceptions import TooManySignIns
from node.auth.flows import sign_in_staff
from node.auth.models import Staff
from node.auth.tokens import issue_staff_token
from node.db import SessionDep
from node.web.audit import router as audit_router
from node.web.dependencies import CsrfForm, WebStaff, end_provider_session
from node.web.evidence import router as evidence_router
from node.web.guide import router as guide_router
from node.web.outbox import router as outbox_router
from node.web.pages import KIT, UI_PREFIX, HtmlRoute, render, safe_next
from node.web.persons import router as persons_router
from node.web.referral_form import router as referral_form_router
from node.web.referrals import router as referrals_router
from node.web.views import router as views_router

router = APIRouter(prefix=UI_PREFIX, route_class=HtmlRoute, include_in_schema=False)


def home_for(role: str) -> str:
    if role == "auditor":
        return f"{UI_PREFIX}/audit"
    if role in RECORD_ROLES:
        return f"{UI_PREFIX}/persons"
    if role == "analyst":
        return f"{UI_PREFIX}/evidence"
    return f"{UI_PREFIX}/account"


@router.get("/static/{name}")
def read_static(name: str) -> Response:
    """The stylesheet and the small progressive-enhancement script."""
    return KIT.static_file(name)


@router.get("/login")
def show_login(request: Request, next_page: Annotated[str, Query(alias="next")] = "") -> Response:
    """The sign-in form."""
    return render(request, "login.html", {"next": safe_next(next_page), "username": ""})


@router.post("/login")
def sign_in(
    request: Request,
    session: SessionDep,
    form: CsrfForm,
    throttle: SignInThrottleDep,
    client: ClientAddress,
    request_id: RequestId,
) -> Response:
    """Check the username and password (audited either way), then set the session cookie."""
    entry = KIT.read_sign_in(form)
    if not entry.complete:
        return KIT.sign_in_page(request, entry, error=SIGN_IN_INCOMPLETE, status_code=422)
    settings = request.app.state.settings
    try:
        staff = sign_in_staff(
            session=session,
            engine=request.app.state.engine,
            throttle=throttle,
            username=entry.username,
            password=entry.password[:1024],
            client=client,
            channel="web",
            org_id=settings.org_id,
            keys=request.app.state.keys,
            request_id=request_id,
        )
    except NotAuthenticated:
        return KIT.sign_in_page(request, entry, error=SIGN_IN_REFUSED, status_code=401)
    except TooManySignIns as locked:
        return KIT.sign_in_page(request, entry, error=locked.in_words(), status_code=429)
    target = home_for(staff.role) if entry.next == UI_PREFIX + "/" else entry.next
    return start_staff_session(request, RedirectResponse(target, status_code=303), staff)


def start_staff_session(request: Request, response: Response, staff: Staff) -> Response:
    """Put a fresh staff token for ``staff`` in the session cookie of ``response``."""
    settings = request.app.state.settings
    assert staff.id is not None
    token = issue_staff_token(
        staff_id=staff.id,
        role=staff.role,
        org_id=settings.org_id,
        keys=request.app.state.keys,
        ttl_s=settings.staff_token_ttl_s,
    )
    return KIT.start_session(request, response, token, ttl_s=settings.staff_token_ttl_s)


@router.post("/logout")
async def sign_out(request: Request, form: CsrfForm) -> Response:
    """Forget the session cookie (and end the identity provider's session, if there is one)."""
    provider_logout = await end_provider_session(request)
    if provider_logout:
        # A page, not a redirect: the pages' CSP (form-action 'self') would block a
        # form's redirect to the provider.
        response = render(request, "signed_out.html", {"provider_logout": provider_logout})
    else:
        response = RedirectResponse(f"{UI_PREFIX}/login", status_code=303)
    return KIT.end_session(response)


@router.get("/")
def show_home(staff: WebStaff) -> Response:
    """Send each role to the page it starts from."""
    return RedirectResponse(home_for(staff.role), status_code=303)


@router.get("/account")
def show_account(request: Request, staff: WebStaff) -> Response:
    """Who is signed in, for roles without a page of their own here."""
    return render(request, "account.html")


router.include_router(persons_router)
router.include_router(views_router)
router.include_router(audit_router)
router.include_router(outbox_router)
router.include_router(guide_router)
router.include_router(evidence_router)
router.include_router(referral_form_router)
router.include_router(referrals_router)

"""The customer portal under ``/portal``: sign-in, sign-out, the stylesheet, "my consents".

Server-rendered pages that work with scripts off. Sign-in checks the username and
password with the consent service's own customer service in-process and keeps the
resulting token in an ``HttpOnly``, ``SameSite=Strict`` cookie. The pages are left
out of the OpenAPI schema: their JSON twins (``/customer/login``, ``/me/consents``)
are the API.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import RedirectResponse, Response

from appkit.labels import load_labels
from appkit.pages import SIGN_IN_INCOMPLETE, SIGN_IN_REFUSED
from appkit.throttle import TooManySignIns
from consent.consents.service import list_consents
from consent.customers import flows as customer_flows
from consent.customers.dependencies import ClientAddress, CustomerThrottle
from consent.customers.tokens import issue_customer_token
from consent.db import SessionDep
from consent.notices.router import NoticeId
from consent.notices.service import list_notices, mark_read
from consent.portal.access import router as access_router
from consent.portal.consents import consent_items, org_names
from consent.portal.consents import router as consents_router
from consent.portal.dependencies import CsrfForm, PortalCustomer
from consent.portal.pages import (
    KIT,
    PORTAL_PREFIX,
    PortalRoute,
    render,
    safe_next,
)
from consent.portal.recovery import router as recovery_router
from consent.portal.wording import notice_summary
from federation.errors import NotAuthenticated

router = APIRouter(prefix=PORTAL_PREFIX, route_class=PortalRoute, include_in_schema=False)


@router.get("/static/{name}")
def read_portal_static(name: str) -> Response:
    """The portal's stylesheet."""
    return KIT.static_file(name)


@router.get("/login")
def show_portal_login(
    request: Request,
    next_page: Annotated[str, Query(alias="next")] = "",
    reset: Annotated[bool, Query()] = False,
) -> Response:
    """The customer sign-in form (``reset``: after a new password was set)."""
    context = {"next": safe_next(next_page), "username": "", "reset": reset}
    return render(request, "login.html", context)


@router.post("/login")
def sign_in_customer(
    request: Request,
    session: SessionDep,
    form: CsrfForm,
    throttle: CustomerThrottle,
    client: ClientAddress,
) -> Response:
    """Check the username and password (braked, ``appkit.throttle``), then set the cookie."""
    entry = KIT.read_sign_in(form)
    entry = replace(entry, username=entry.username.lower())  # customer usernames ignore case
    if not entry.complete:
        return KIT.sign_in_page(request, entry, error=SIGN_IN_INCOMPLETE, status_code=422)
    try:
        account = customer_flows.sign_in_customer(
            session=session,
            throttle=throttle,
            username=entry.username,
            password=entry.password[:256],
            client=client,
        )
    except NotAuthenticated:
        return KIT.sign_in_page(request, entry, error=SIGN_IN_REFUSED, status_code=401)
    except TooManySignIns as locked:
        error = (
            f"{locked.in_words()} Or set a new password with a code from the organisation "
            "that set up your account."
        )
        return KIT.sign_in_page(request, entry, error=error, status_code=429)
    ttl = request.app.state.settings.customer_token_ttl_s
    token = issue_customer_token(
        keys=request.app.state.keys,
        account_id=account.id or 0,
        subject_id=account.subject_id,
        ttl_s=ttl,
    )
    return KIT.start_session(request, RedirectResponse(entry.next, 303), token, ttl_s=ttl)


@router.post("/logout")
def sign_out_customer(form: CsrfForm) -> Response:
    """Forget the session cookie."""
    return KIT.end_session(RedirectResponse(f"{PORTAL_PREFIX}/login", status_code=303))


@router.get("/")
def show_my_consents(
    request: Request,
    session: SessionDep,
    customer: PortalCustomer,
    done: Annotated[str, Query(max_length=32)] = "",
) -> Response:
    """The customer's consents in plain language: in force, then revoked or ended."""
    names = org_names(request)
    consents = list_consents(session=session, subject_id=customer.subject_id)
    consents.sort(key=lambda c: -c.created_at.timestamp())
    items = consent_items(session=session, consents=consents, names=names)
    notices = [
        notice_summary(n, names=names, labels=load_labels())
        for n in list_notices(session=session, subject_id=customer.subject_id).data
        if not n.read
    ]
    return render(request, "consents.html", {"items": items, "done": done, "notices": notices})


@router.post("/notices/{notice_id}/read")
def read_notice_page(
    session: SessionDep, customer: PortalCustomer, notice_id: NoticeId, form: CsrfForm
) -> Response:
    """Mark an emergency-access notice read; back to "my consents"."""
    mark_read(session=session, subject_id=customer.subject_id, notice_id=notice_id)
    return RedirectResponse(f"{PORTAL_PREFIX}/?done=read", status_code=303)


router.include_router(consents_router)
router.include_router(access_router)
router.include_router(recovery_router)

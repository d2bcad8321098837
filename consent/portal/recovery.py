"""The portal's way back in: set a new password with a one-time code.

A person who forgot their password, or who is locked out after failed sign-ins,
asks an organisation that enrolled them (the one that set up the account, usually)
for a one-time code; that organisation asks the consent service for it through the
signed member API (``POST /federation/customers/recovery``), or the service's
operator runs ``joinedup consent recovery-code``. The person types the code and a
new password here; the same page takes a first-time activation code. A wrong,
used or expired code is refused without saying which.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from consent.customers.dependencies import CustomerThrottle
from consent.customers.flows import reset_password
from consent.customers.service import MIN_PASSWORD_LENGTH
from consent.db import SessionDep
from consent.portal.dependencies import CsrfForm
from consent.portal.pages import PORTAL_PREFIX, PortalRoute, render
from federation.errors import NotAuthenticated

router = APIRouter(route_class=PortalRoute, include_in_schema=False)

MAX_CODE_CHARS = 128
MAX_PASSWORD_CHARS = 256


def wait_in_words(seconds: int) -> str:
    """``59`` -> "a minute", ``300`` -> "5 minutes": how long to wait, for a person."""
    minutes = max(1, -(-seconds // 60))
    return "a minute" if minutes == 1 else f"{minutes} minutes"


@router.get("/recover")
def show_password_reset(request: Request) -> Response:
    """The form: a one-time code and a new password."""
    return render(request, "recover.html", {"min_length": MIN_PASSWORD_LENGTH})


@router.post("/recover")
def reset_customer_password(
    request: Request, session: SessionDep, form: CsrfForm, throttle: CustomerThrottle
) -> Response:
    """Set the new password with the code, then send the person to sign in."""
    code, password, again = (form.get(name) for name in ("code", "password", "password_again"))
    context: dict[str, object] = {"min_length": MIN_PASSWORD_LENGTH}
    if not (isinstance(code, str) and isinstance(password, str) and code and password and again):
        context["error"] = "Enter the code, then your new password twice."
        return render(request, "recover.html", context, status_code=422)
    if password != again:
        context["error"] = "The two passwords are not the same. Type them again."
        return render(request, "recover.html", context, status_code=422)
    if not MIN_PASSWORD_LENGTH <= len(password) <= MAX_PASSWORD_CHARS:
        context["error"] = (
            f"Choose a password of at least {MIN_PASSWORD_LENGTH} characters "
            f"(and at most {MAX_PASSWORD_CHARS})."
        )
        return render(request, "recover.html", context, status_code=422)
    try:
        reset_password(
            session=session,
            throttle=throttle,
            code=code.strip()[:MAX_CODE_CHARS],
            password=password,
        )
    except NotAuthenticated:
        context["error"] = (
            "That code did not work. It may be mistyped, already used, or out of date. "
            "Ask the organisation that gave it to you for a new one."
        )
        return render(request, "recover.html", context, status_code=401)
    return RedirectResponse(f"{PORTAL_PREFIX}/login?reset=1", status_code=303)

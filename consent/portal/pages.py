"""Rendering the portal: the Jinja2 environment, ``render`` and HTML error pages.

The consent service's API answers RFC 9457 problem+json; a customer in a browser
needs a page. ``PortalRoute`` turns the same domain errors into pages: an expired
sign-in becomes a redirect to the sign-in form, anything else a page with the status
code and a plain message. Every page is ``no-store``: consents are personal data.
Times are stored in UTC and shown on UK clocks (``when``, ``long_date``, ``clock``),
the way the person reads a time; a consent "until 1 July" lasts to the end of 1 July
in London (``end_of_day``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Coroutine
from functools import lru_cache
from pathlib import Path
from typing import Any
from urllib.parse import quote
from zoneinfo import ZoneInfo

from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute
from fastapi.templating import Jinja2Templates
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from appkit.labels import load_labels
from consent.portal.csrf import CSRF_FIELD, csrf_token_for, set_csrf_cookie
from federation.errors import JoinedUpError, NotAuthenticated

TEMPLATES_DIR = Path(__file__).resolve().parent / "templates"
STATIC_DIR = Path(__file__).resolve().parent / "static"
PORTAL_PREFIX = "/portal"
SESSION_COOKIE = "joinedup_customer"
SECURITY_HEADERS = {
    "Cache-Control": "no-store",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
    "Content-Security-Policy": (
        "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
        "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
    ),
}
# The customer reads times on UK clocks (issue 11 item 7): every time the portal
# shows is stored in UTC and converted here, GMT or BST as the date has it.
LONDON = ZoneInfo("Europe/London")


def as_moment(value: Any) -> Any:
    """A datetime for an ISO string or epoch seconds; anything else as it came."""
    if isinstance(value, str):
        try:
            return dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        return dt.datetime.fromtimestamp(value, dt.UTC)
    return value


def in_london(value: dt.datetime) -> dt.datetime:
    """``value`` (stored in UTC; naive means UTC) on the clocks the customer reads."""
    return (value if value.tzinfo else value.replace(tzinfo=dt.UTC)).astimezone(LONDON)


def long_date(value: Any) -> str:
    """'1 March 2027' for a date, or for a datetime as a date in London; '' for None."""
    value = as_moment(value)
    if isinstance(value, dt.datetime):
        value = in_london(value).date()
    if isinstance(value, dt.date):
        return value.strftime("%-d %B %Y")
    return "" if value is None else str(value)


def when(value: Any) -> str:
    """'1 March 2027 at 14:05', on London clocks (GMT or BST as the date has it)."""
    value = as_moment(value)
    if isinstance(value, dt.datetime):
        return in_london(value).strftime("%-d %B %Y at %H:%M")
    return long_date(value)


def clock(value: Any) -> str:
    """'14:05' on London clocks: the time of day, where the date is already said."""
    value = as_moment(value)
    return in_london(value).strftime("%H:%M") if isinstance(value, dt.datetime) else ""


def end_of_day(day: dt.date) -> dt.datetime:
    """The last second of ``day`` in London, in UTC: "until 1 July" keeps 1 July whole."""
    return dt.datetime.combine(day, dt.time(23, 59, 59), tzinfo=LONDON).astimezone(dt.UTC)


def today_in_london(now: dt.datetime | None = None) -> dt.date:
    """The customer's today (London), which is what a date field's "in the future" means."""
    return in_london(now or dt.datetime.now(dt.UTC)).date()


@lru_cache(maxsize=1)
def templates() -> Jinja2Templates:
    """The portal's one Jinja2 environment (built on first use)."""
    env = Jinja2Templates(directory=str(TEMPLATES_DIR))
    env.env.filters["longdate"] = long_date
    env.env.filters["when"] = when
    env.env.filters["clock"] = clock
    env.env.globals["labels"] = load_labels()
    env.env.globals["csrf_field"] = CSRF_FIELD
    return env


def render(
    request: Request, name: str, context: dict[str, Any] | None = None, status_code: int = 200
) -> Response:
    page = dict(context or {})
    page.setdefault("customer", getattr(request.state, "portal_customer", None))
    page["csrf_token"] = csrf_token_for(request)
    response = templates().TemplateResponse(request, name, page, status_code=status_code)
    response.headers.update(SECURITY_HEADERS)
    set_csrf_cookie(request, response, path=PORTAL_PREFIX)
    return response


def error_page(request: Request, status_code: int, message: str) -> Response:
    titles = {
        400: "That request could not be read",
        403: "You cannot do that here",
        404: "Not found",
        409: "That has already changed",
        422: "Some of what you entered could not be used",
    }
    title = titles.get(status_code, "Something went wrong")
    return render(
        request, "error.html", {"title": title, "message": message}, status_code=status_code
    )


def login_redirect(request: Request) -> RedirectResponse:
    target = request.url.path if request.method == "GET" else PORTAL_PREFIX + "/"
    response = RedirectResponse(f"{PORTAL_PREFIX}/login?next={quote(target, safe='')}", 303)
    response.delete_cookie(SESSION_COOKIE, path=PORTAL_PREFIX)
    return response


class PortalRoute(APIRoute):
    """An APIRoute whose domain and validation errors become HTML pages, not JSON."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        original = super().get_route_handler()

        async def handle(request: Request) -> Response:
            try:
                return await original(request)
            except NotAuthenticated:
                return login_redirect(request)
            except JoinedUpError as exc:
                code = exc.status_code if 400 <= exc.status_code < 600 else 500
                return error_page(request, code, exc.message)
            except RequestValidationError:
                return error_page(request, 422, "Check the address or the form and try again.")
            except StarletteHTTPException as exc:
                return error_page(request, exc.status_code, str(exc.detail))

        return handle

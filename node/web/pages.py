"""Rendering the staff pages: the Jinja2 environment, ``render`` and HTML error pages.

The rest of the node answers RFC 9457 problem+json; a person in a browser needs a
page instead. ``HtmlRoute`` (the route class of the web router) turns the same
domain errors into pages: a missing or expired sign-in becomes a redirect to the
sign-in form, anything else a page with the status code and a plain message —
never a 500 for bad input. Every page is ``no-store`` because most carry personal
data that the design says is "shown, and forgotten".
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Coroutine
from functools import lru_cache
from pathlib import Path
from typing import Any
from urllib.parse import quote

from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute
from fastapi.templating import Jinja2Templates
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from appkit.labels import load_labels
from federation.errors import JoinedUpError, NotAuthenticated
from node.web.csrf import CSRF_FIELD, csrf_token_for, set_csrf_cookie

log = logging.getLogger("joinedup.node.web")

TEMPLATES_DIR = Path(__file__).resolve().parent / "templates"
STATIC_DIR = Path(__file__).resolve().parent / "static"
UI_PREFIX = "/ui"
SESSION_COOKIE = "joinedup_staff"
SECURITY_HEADERS = {
    "Cache-Control": "no-store",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
    # Inline SVG needs no script; the one small script is a same-origin file.
    "Content-Security-Policy": (
        "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
        "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
    ),
}


def _when(value: Any) -> str:
    """A timestamp as people read it: '3 Mar 2026, 14:05 UTC'."""
    if isinstance(value, int | float):
        value = dt.datetime.fromtimestamp(value / 1000 if value > 1e11 else value, dt.UTC)
    if isinstance(value, str):
        try:
            value = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return str(value)
    if isinstance(value, dt.datetime):
        moment: dt.datetime = value if value.tzinfo else value.replace(tzinfo=dt.UTC)
        return moment.astimezone(dt.UTC).strftime("%-d %b %Y, %H:%M UTC")
    if isinstance(value, dt.date):
        return value.strftime("%-d %b %Y")
    return "" if value is None else str(value)


def _longdate(value: Any) -> str:
    if isinstance(value, dt.datetime):
        value = value.date()
    if isinstance(value, str):
        try:
            value = dt.date.fromisoformat(value[:10])
        except ValueError:
            return str(value)
    if isinstance(value, dt.date):
        return value.strftime("%-d %B %Y")
    return "" if value is None else str(value)


@lru_cache(maxsize=1)
def templates() -> Jinja2Templates:
    """The one Jinja2 environment of the staff pages (built on first use)."""
    env = Jinja2Templates(directory=str(TEMPLATES_DIR))
    env.env.filters["when"] = _when
    env.env.filters["longdate"] = _longdate
    env.env.globals["labels"] = load_labels()
    env.env.globals["csrf_field"] = CSRF_FIELD
    return env


def render(
    request: Request, name: str, context: dict[str, Any] | None = None, status_code: int = 200
) -> Response:
    """Render ``name`` with the signed-in staff member, CSRF token and labels in scope."""
    page = dict(context or {})
    page.setdefault("staff", getattr(request.state, "web_staff", None))
    page.setdefault("org_name", _org_name(request))
    page.setdefault("provider_name", _provider_name(request))
    page["csrf_token"] = csrf_token_for(request)
    response = templates().TemplateResponse(request, name, page, status_code=status_code)
    response.headers.update(SECURITY_HEADERS)
    set_csrf_cookie(request, response, path=UI_PREFIX)
    return response


def _org_name(request: Request) -> str:
    settings = getattr(request.app.state, "settings", None)
    if settings is None:
        return ""
    return str(getattr(settings, "org_name", "") or getattr(settings, "org_id", ""))


def _provider_name(request: Request) -> str:
    """How the sign-in page names the identity provider; empty when there is none."""
    settings = getattr(request.app.state, "settings", None)
    if settings is None or not getattr(settings, "oidc_issuer", None):
        return ""
    return str(getattr(settings, "oidc_provider_name", "") or "organisation account")


def error_page(request: Request, status_code: int, message: str) -> Response:
    titles = {
        400: "That request could not be read",
        403: "You do not have access to this page",
        404: "Not found",
        405: "Not allowed",
        409: "That conflicts with what is already recorded",
        413: "That was too large",
        422: "Some of what you entered could not be used",
        503: "This service is busy",
    }
    title = titles.get(status_code, "Something went wrong")
    return render(
        request, "error.html", {"title": title, "message": message}, status_code=status_code
    )


def login_redirect(request: Request) -> RedirectResponse:
    target = request.url.path
    if request.method == "GET" and request.url.query:
        target += "?" + request.url.query
    response = RedirectResponse(f"{UI_PREFIX}/login?next={quote(target, safe='')}", 303)
    response.delete_cookie(SESSION_COOKIE, path=UI_PREFIX)
    return response


class HtmlRoute(APIRoute):
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

"""The staff pages' page kit (``appkit.pages.PageKit``) and their date filters.

``render``, ``error_page``, ``login_redirect`` and ``HtmlRoute`` (the route class of
the web router) are the kit's, bound to ``/ui``, the staff session cookie and the
staff CSRF cookie; every page shows the signed-in staff member and the
organisation's name. Times read as '3 Mar 2026, 14:05 UTC' (``when``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from starlette.requests import Request

from appkit.csrf import DoubleSubmitCsrf
from appkit.pages import PageKit

TEMPLATES_DIR = Path(__file__).resolve().parent / "templates"
STATIC_DIR = Path(__file__).resolve().parent / "static"
UI_PREFIX = "/ui"
SESSION_COOKIE = "joinedup_staff"


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


def _page_context(request: Request) -> Mapping[str, Any]:
    return {
        "staff": getattr(request.state, "web_staff", None),
        "org_name": _org_name(request),
        "provider_name": _provider_name(request),
    }


KIT = PageKit(
    templates_dir=TEMPLATES_DIR,
    prefix=UI_PREFIX,
    session_cookie=SESSION_COOKIE,
    csrf=DoubleSubmitCsrf(cookie="joinedup_csrf"),
    filters={"when": _when, "longdate": _longdate},
    page_context=_page_context,
    static_dir=STATIC_DIR,
    static_files={"joinedup.css": "text/css", "enhance.js": "text/javascript"},
)
# What the page modules import: the kit's parts under their familiar names.
render, error_page, login_redirect = KIT.render, KIT.error_page, KIT.login_redirect
HtmlRoute, safe_next = KIT.route_class, KIT.safe_next

"""The portal's page kit (``appkit.pages.PageKit``) and its times on UK clocks.

``render``, ``error_page``, ``login_redirect`` and ``PortalRoute`` are the kit's,
bound to ``/portal``, the customer session cookie and the portal CSRF cookie; every
page knows the signed-in customer. Consents are personal data, so every page is
``no-store`` (the kit's headers).
Times are stored in UTC and shown on UK clocks (``when``, ``long_date``, ``clock``),
the way the person reads a time; a consent "until 1 July" lasts to the end of 1 July
in London (``end_of_day``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from starlette.requests import Request

from appkit.csrf import DoubleSubmitCsrf
from appkit.pages import PageKit

TEMPLATES_DIR = Path(__file__).resolve().parent / "templates"
STATIC_DIR = Path(__file__).resolve().parent / "static"
PORTAL_PREFIX = "/portal"
SESSION_COOKIE = "joinedup_customer"
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


def _page_context(request: Request) -> Mapping[str, Any]:
    return {"customer": getattr(request.state, "portal_customer", None)}


KIT = PageKit(
    templates_dir=TEMPLATES_DIR,
    prefix=PORTAL_PREFIX,
    session_cookie=SESSION_COOKIE,
    csrf=DoubleSubmitCsrf(cookie="joinedup_portal_csrf"),
    filters={"longdate": long_date, "when": when, "clock": clock},
    page_context=_page_context,
    # The customer acts on their own consents: "access" reads oddly, "changed" is what happened.
    titles={403: "You cannot do that here", 409: "That has already changed"},
    static_dir=STATIC_DIR,
    static_files={"portal.css": "text/css"},
    max_form_fields=300,
)
# What the page modules import: the kit's parts under their familiar names.
render, error_page, login_redirect = KIT.render, KIT.error_page, KIT.login_redirect
PortalRoute, safe_next = KIT.route_class, KIT.safe_next

"""CSRF protection for both apps' POST forms (OWASP double-submit cookie + Origin).

Three layers, any one of which stops a cross-site form post:

* the session cookie is ``SameSite=Strict``, so a browser does not send it on a
  request started by another site;
* every form carries a hidden ``csrf_token`` that must equal the value of the
  app's CSRF cookie (compared in constant time); another site can neither read
  that cookie nor set it on this origin;
* if the browser sends ``Origin`` (or, failing that, ``Referer``), it must name this
  host (OWASP "verifying origin with standard headers").

Each app names its own cookie in its page kit (``appkit.pages.PageKit``:
``node/web/pages.py``, ``consent/portal/pages.py``), which checks every form.
"""

from __future__ import annotations

import hmac
import secrets
from dataclasses import dataclass
from urllib.parse import urlsplit

from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import Response

CSRF_FIELD = "csrf_token"
_TOKEN_BYTES = 32


@dataclass(frozen=True)
class DoubleSubmitCsrf:
    """The guard for one app's forms, keyed by that app's cookie name."""

    cookie: str

    def token_for(self, request: Request) -> str:
        """The CSRF token to put in this page's forms: the cookie's, or a fresh one."""
        existing = request.cookies.get(self.cookie, "")
        if 20 <= len(existing) <= 100 and existing.replace("-", "").replace("_", "").isalnum():
            return existing
        fresh: str | None = getattr(request.state, "new_csrf_token", None)
        if fresh is None:
            fresh = secrets.token_urlsafe(_TOKEN_BYTES)
            request.state.new_csrf_token = fresh
        return fresh

    def set_cookie(self, request: Request, response: Response, *, path: str) -> None:
        """Store a token minted while rendering this page (no-op if the cookie exists)."""
        fresh: str | None = getattr(request.state, "new_csrf_token", None)
        if fresh is not None:
            response.set_cookie(
                self.cookie,
                fresh,
                httponly=True,
                samesite="strict",
                secure=request.url.scheme == "https",
                path=path,
            )

    def ok(self, request: Request, form: FormData) -> bool:
        """True when the form's token matches the cookie and the origin is this host."""
        cookie = request.cookies.get(self.cookie, "")
        submitted = form.get(CSRF_FIELD)
        if not cookie or not isinstance(submitted, str) or not submitted:
            return False
        if not hmac.compare_digest(cookie.encode(), submitted.encode()):
            return False
        return _same_origin(request)


def _same_origin(request: Request) -> bool:
    claimed = request.headers.get("origin") or request.headers.get("referer")
    if not claimed or claimed == "null":
        # No header: old browsers and non-browser clients. The token still guards.
        return claimed != "null"
    parts = urlsplit(claimed)
    return parts.netloc.lower() == (request.headers.get("host") or "").lower()

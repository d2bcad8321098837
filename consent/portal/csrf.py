"""The customer portal's CSRF guard: ``appkit.csrf`` under the ``joinedup_portal_csrf`` cookie."""

from __future__ import annotations

from appkit.csrf import CSRF_FIELD, DoubleSubmitCsrf

__all__ = ["CSRF_COOKIE", "CSRF_FIELD", "GUARD", "csrf_ok", "csrf_token_for", "set_csrf_cookie"]

CSRF_COOKIE = "joinedup_portal_csrf"
GUARD = DoubleSubmitCsrf(cookie=CSRF_COOKIE)

csrf_token_for = GUARD.token_for
set_csrf_cookie = GUARD.set_cookie
csrf_ok = GUARD.ok

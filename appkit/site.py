"""What every joinedup web service answers besides its own pages: ``/``, the favicon
and the shared character-count script.

A newcomer who opens a service's bare address (``http://127.0.0.1:8701/``) is sent
to the page the service is for: the staff pages on a node, the customer portal on
the consent service. Browsers ask every site for ``/favicon.ico``; answering it keeps
404s out of the access logs and gives the tab the joinedup mark. ``charcount.js`` is
the progressive enhancement behind every field with a length limit (a live count;
the server still refuses over-long text with a message). Both apps mount
``site_router`` so a fix here reaches both (STYLE "Avoid": web plumbing copied into
both apps).
"""

from __future__ import annotations

from importlib.resources import files

from fastapi import APIRouter
from fastapi.responses import RedirectResponse, Response

__all__ = ["CHARCOUNT_PATH", "site_router"]

CHARCOUNT_PATH = "/assets/charcount.js"
_STATIC = files("appkit") / "static"
_CACHE = {"Cache-Control": "public, max-age=86400", "X-Content-Type-Options": "nosniff"}


def site_router(*, home: str) -> APIRouter:
    """``/`` redirects to ``home``; ``/favicon.ico`` and the count script are served."""
    router = APIRouter(include_in_schema=False)
    favicon = (_STATIC / "favicon.ico").read_bytes()
    charcount = (_STATIC / "charcount.js").read_bytes()

    @router.get("/")
    def redirect_home() -> RedirectResponse:
        """Send the bare address to the service's own pages."""
        return RedirectResponse(home, status_code=303)

    @router.get("/favicon.ico")
    def read_favicon() -> Response:
        """The joinedup mark for the browser tab."""
        return Response(favicon, media_type="image/x-icon", headers=_CACHE)

    @router.get(CHARCOUNT_PATH)
    def read_charcount_script() -> Response:
        """The live character count for fields with a limit (progressive enhancement)."""
        return Response(charcount, media_type="text/javascript", headers=_CACHE)

    return router

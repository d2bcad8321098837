"""The last line of error handling: nothing unexpected becomes a traceback in the log.

Starlette answers an unhandled exception through the app's ``Exception`` handler and
then *re-raises* it, so that the server logs it: uvicorn writes "Exception in ASGI
application" with the whole traceback, which breaks the JSON-lines log and can
print values (a name, a date of birth) from the frames. ``FailsafeMiddleware`` sits
inside that layer and catches first: it answers 500 problem+json (if nothing was
sent yet) and logs one line with the exception's type and the route template, never
its message. Tests and schemathesis still treat any 500 as a bug.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from appkit.problems import problem_response

__all__ = ["FailsafeMiddleware", "install_failsafe"]

log = logging.getLogger("joinedup.failsafe")


class FailsafeMiddleware:
    """Answer any exception that escapes the app with a 500 problem, logged by type only."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, receive, tracking_send)
        except Exception as exc:  # noqa: BLE001 - the point: nothing escapes to the server
            route: Any = scope.get("route")
            log.error(
                "unexpected error",
                extra={
                    "exc_type": type(exc).__name__,
                    "http_method": scope.get("method"),
                    "route": getattr(route, "path", "unmatched"),
                },
            )
            if started:
                return  # the status line is out; the client sees a cut-off body
            response = problem_response(
                status=500,
                title="Internal error",
                detail="An unexpected error occurred.",
                slug="internal-error",
                instance=getattr(route, "path", None),
            )
            await response(scope, receive, send)


def install_failsafe(app: FastAPI) -> None:
    """Add the middleware; call it last, so it wraps every other middleware."""
    app.add_middleware(FailsafeMiddleware)

"""Request body limit for the joinedup apps: 413 problem+json, declared or streamed.

``BodyLimitMiddleware`` refuses bodies over ``max_bytes`` by Content-Length up front
(a Content-Length that is not a number is a 400) or, for chunked bodies without one,
while reading: the app sees ``BodyTooLarge`` (an ``HTTPException`` 413), which the
problem handlers of ``appkit.problems`` answer as RFC 9457 problem+json. Both
the node and the consent service install it, so neither reads an unbounded body.
"""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from appkit.problems import problem_response

__all__ = ["BodyLimitMiddleware", "BodyTooLarge", "header_value", "install_body_limit"]


class BodyTooLarge(StarletteHTTPException):
    """Raised while streaming a body past the limit; an HTTPException so FastAPI's
    body parsing re-raises it as is (it wraps other errors in a 400)."""

    def __init__(self, detail: str) -> None:
        super().__init__(413, detail)


class BodyLimitMiddleware:
    """Answer 413 to any request body larger than ``max_bytes``."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = header_value(scope, b"content-length")
        if declared is not None:
            if not declared.isdigit():
                await self._reject(scope, send, 400, "Content-Length is not a number")
                return
            if int(declared) > self.max_bytes:
                await self._reject(scope, send, 413, self._too_large())
                return
        received = 0

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    raise BodyTooLarge(self._too_large())
            return message

        await self.app(scope, limited_receive, send)

    def _too_large(self) -> str:
        return f"request body exceeds the limit of {self.max_bytes} bytes"

    async def _reject(self, scope: Scope, send: Send, status: int, detail: str) -> None:
        response = problem_response(
            status=status,
            title="Payload too large" if status == 413 else "Bad request",
            detail=detail,
            slug="payload-too-large" if status == 413 else "bad-request",
            instance=scope.get("path"),
        )
        await response(scope, _drain, send)


async def _drain() -> Message:
    return {"type": "http.disconnect"}


def header_value(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", ()):
        if key == name:
            return str(value.decode("latin-1").strip())
    return None


def install_body_limit(app: FastAPI, max_bytes: int) -> None:
    """Add the middleware, and answer a body cut off while streaming as 413 problem+json."""

    async def handle_body_too_large(request: Request, exc: Exception) -> JSONResponse:
        detail = exc.detail if isinstance(exc, BodyTooLarge) else "request body too large"
        return problem_response(
            status=413,
            title="Payload too large",
            detail=str(detail),
            slug="payload-too-large",
            instance=request.url.path,
        )

    app.add_exception_handler(BodyTooLarge, handle_body_too_large)
    app.add_middleware(BodyLimitMiddleware, max_bytes=max_bytes)

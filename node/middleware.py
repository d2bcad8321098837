"""ASGI middleware for the node: request body limit and privacy-safe access logging.

``BodyLimitMiddleware`` (``appkit.body_limit``, shared with the consent service)
refuses bodies over ``max_body_bytes`` with a 413 problem+json, by Content-Length up
front or, for chunked bodies, while reading. ``AccessLogMiddleware`` logs one
structured line per request with the *route template* (``/persons/{person_id}``),
never the raw path or query string, which may carry names (``GET /persons?q=...``);
it also sets ``X-Request-ID``.
"""

from __future__ import annotations

import logging
import re
import time
import uuid
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from appkit.body_limit import BodyLimitMiddleware, BodyTooLarge
from appkit.body_limit import header_value as _header

__all__ = ["AccessLogMiddleware", "BodyLimitMiddleware", "BodyTooLarge"]

access_log = logging.getLogger("joinedup.node.access")
_SAFE_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{8,64}$")


class AccessLogMiddleware:
    """One log line per request: method, route template, status, duration, request id."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        incoming = _header(scope, b"x-request-id")
        request_id = incoming if incoming and _SAFE_REQUEST_ID.match(incoming) else uuid.uuid4().hex
        scope.setdefault("state", {})["request_id"] = request_id
        started = time.perf_counter()
        status = 500

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
                headers = list(message.get("headers", []))
                headers.append((b"x-request-id", request_id.encode()))
                message = {**message, "headers": headers}
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            route: Any = scope.get("route")
            access_log.info(
                "request",
                extra={
                    "http_method": scope.get("method"),
                    "route": getattr(route, "path", "unmatched"),
                    "status": status,
                    "duration_ms": round((time.perf_counter() - started) * 1000, 2),
                    "request_id": request_id,
                },
            )

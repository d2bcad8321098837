"""Admission control: excess load gets a quick 503 with Retry-After, not a slow answer.

Each endpoint class has its own bound on requests in progress (settings
``admission_*_limit``): joined-up views (``POST /views`` and the staff page that
asks for one) each fan out to every member and are the costliest, so they have the
smallest bound; the partner-facing ``/federation/*`` endpoints, which this node's own
views also call, have their own larger bound so that views can never starve them;
everything else shares a third. When a class is full, as many requests again may
wait up to ``admission_queue_wait_s`` for a place; any more, or any that waited in
vain, get ``503`` with ``Retry-After`` at once: problem+json, or a page in plain
words on the staff pages. A node that refuses
early keeps answering the requests it admitted within their deadline (issue 12),
where an unbounded one slows every request down until clients time out.

``/health`` is never limited: a load balancer must see the node alive while it
sheds load. A database pool checkout that still times out becomes the same 503
(``handle_pool_timeout``) rather than a 500.
"""

from __future__ import annotations

import asyncio
import logging
import math
from dataclasses import dataclass

import sqlalchemy as sa
from fastapi import FastAPI, Request
from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

from appkit.problems import problem_response
from node.config import NodeSettings
from node.web.pages import UI_PREFIX, error_page

log = logging.getLogger("joinedup.node.admission")

EXEMPT_PATHS = frozenset({"/health"})
VIEW_CLASS, FEDERATION_CLASS, OTHER_CLASS = "views", "federation", "other"
BUSY_SLUG = "node-busy"
BUSY_PAGE_MESSAGE = (
    "Too many people are using this service at the moment. Please wait a few seconds and "
    "try again. Nothing was recorded or shared by this attempt."
)


def endpoint_class(method: str, path: str) -> str | None:
    """Which bound a request counts against; ``None`` for the exempt ``/health``."""
    if path in EXEMPT_PATHS:
        return None
    if path.startswith("/federation/"):
        return FEDERATION_CLASS
    if method == "POST" and (path == "/views" or _is_view_page(path)):
        return VIEW_CLASS
    return OTHER_CLASS


def _is_view_page(path: str) -> bool:
    # The staff page POST /ui/persons/{id}/view runs the same fan-out as POST /views.
    return path.startswith("/ui/persons/") and path.endswith("/view")


@dataclass
class Gate:
    """One endpoint class: at most ``limit`` in progress and ``limit`` waiting."""

    limit: int
    queue_wait_s: float

    def __post_init__(self) -> None:
        self._slots = asyncio.Semaphore(self.limit)
        self._waiting = 0

    async def enter(self) -> bool:
        """Take a place, waiting at most ``queue_wait_s``; ``False`` if none came."""
        if not self._slots.locked():
            await self._slots.acquire()
            return True
        if self._waiting >= self.limit or self.queue_wait_s <= 0:
            return False
        self._waiting += 1
        try:
            await asyncio.wait_for(self._slots.acquire(), timeout=self.queue_wait_s)
        except TimeoutError:
            return False
        finally:
            self._waiting -= 1
        return True

    def leave(self) -> None:
        self._slots.release()


class AdmissionMiddleware:
    """Bound the requests in progress per endpoint class; 503 + Retry-After beyond."""

    def __init__(self, app: ASGIApp, settings: NodeSettings) -> None:
        self.app = app
        wait = settings.admission_queue_wait_s
        self.gates = {
            VIEW_CLASS: Gate(settings.admission_view_limit, wait),
            FEDERATION_CLASS: Gate(settings.admission_federation_limit, wait),
            OTHER_CLASS: Gate(settings.admission_other_limit, wait),
        }
        self.retry_after_s = max(1, math.ceil(wait))

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind = (
            endpoint_class(str(scope.get("method", "")), str(scope.get("path", "")))
            if scope["type"] == "http"
            else None
        )
        if kind is None:
            await self.app(scope, receive, send)
            return
        gate = self.gates[kind]
        if not await gate.enter():
            log.warning("request refused: node busy", extra={"endpoint_class": kind})
            response = busy_response(Request(scope), self.retry_after_s)
            await response(scope, receive, send)
            return
        try:
            await self.app(scope, receive, send)
        finally:
            gate.leave()


def busy_response(request: Request, retry_after_s: int) -> Response:
    """503 telling the client when to try again (RFC 9110 §10.2.3).

    problem+json for the API; for the staff pages (``/ui/...``) a page in plain words.
    """
    path = request.url.path
    response: Response
    if path.startswith(UI_PREFIX + "/"):
        response = error_page(request, 503, BUSY_PAGE_MESSAGE)
    else:
        response = problem_response(
            status=503,
            title="Node busy",
            detail="this node is at capacity; try again shortly",
            slug=BUSY_SLUG,
            instance=path,
        )
    response.headers["Retry-After"] = str(retry_after_s)
    return response


def install_admission(app: FastAPI, settings: NodeSettings) -> None:
    """Add the middleware and turn a database pool timeout into the same 503."""
    app.add_middleware(AdmissionMiddleware, settings=settings)
    retry_after_s = max(1, math.ceil(settings.admission_queue_wait_s))

    @app.exception_handler(sa.exc.TimeoutError)
    async def handle_pool_timeout(request: Request, exc: sa.exc.TimeoutError) -> Response:
        log.warning("database pool exhausted", extra={"route": request.url.path})
        return busy_response(request, retry_after_s)

"""The federation authority's registry, published at a URL (``joinedup registry serve``).

Members poll ``GET /registry.json`` (``federation.registry_feed``) instead of having
files copied to them, so a member the authority adds or removes appears or disappears
at every node within one poll, with no restart. The answer carries a strong ``ETag``
(a hash of the exact bytes) and ``Cache-Control: no-cache``; a poll with a matching
``If-None-Match`` gets ``304 Not Modified`` and no body (RFC 9110 §13.1.2, §15.4.5).

The server holds no key and checks nothing: a node trusts only the authority's
signature inside the document. It does refuse to publish a file that is mid-edit
(``registry add-member`` leaves it unsigned until ``registry sign``): 503 until signed.
Any static web server that sends ETags can publish the same file instead.
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
from dataclasses import dataclass, field
from pathlib import Path

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

REGISTRY_PATH = "/registry.json"


@dataclass
class PublishedRegistry:
    """The file and, keyed by its modification time, its bytes and ETag."""

    path: Path
    _cached: tuple[int, bytes, str] | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def read(self) -> tuple[bytes, str] | None:
        """The file's bytes and ETag; None while it is unsigned or unreadable."""
        try:
            mtime = self.path.stat().st_mtime_ns
        except OSError:
            return None
        with self._lock:
            if self._cached is None or self._cached[0] != mtime:
                try:
                    body = self.path.read_bytes()
                    signed = json.loads(body).get("signature")
                except (OSError, ValueError, AttributeError):
                    return None
                if not signed:
                    return None
                etag = '"' + hashlib.sha256(body).hexdigest()[:32] + '"'
                self._cached = (mtime, body, etag)
            _, body, etag = self._cached
        return body, etag


def _problem(
    status: int, title: str, detail: str, headers: dict[str, str] | None = None
) -> Response:
    """An RFC 9457 problem+json answer."""
    body = {"type": "about:blank", "title": title, "status": status, "detail": detail}
    return JSONResponse(
        body, status_code=status, media_type="application/problem+json", headers=headers
    )


def read_registry(request: Request) -> Response:
    published: PublishedRegistry = request.app.state.published
    current = published.read()
    if current is None:
        detail = "the registry is being edited; it is published once signed"
        return _problem(503, "Registry not published", detail, {"Retry-After": "5"})
    body, etag = current
    headers = {"ETag": etag, "Cache-Control": "no-cache"}
    wanted = request.headers.get("if-none-match", "")
    if etag in [tag.strip() for tag in wanted.split(",")] or wanted.strip() == "*":
        return Response(status_code=304, headers=headers)
    return Response(body, media_type="application/json", headers=headers)


def read_health(request: Request) -> Response:
    return JSONResponse({"status": "ok"})


async def _http_error(request: Request, exc: Exception) -> Response:
    status = getattr(exc, "status_code", 500)
    return _problem(status, "Not found" if status == 404 else "Not allowed", str(exc))


def create_registry_server(path: Path) -> Starlette:
    app = Starlette(
        routes=[Route(REGISTRY_PATH, read_registry), Route("/health", read_health)],
        exception_handlers={404: _http_error, 405: _http_error},
    )
    app.state.published = PublishedRegistry(Path(path))
    return app


def create_registry_server_from_env() -> Starlette:
    """The uvicorn factory: publishes the file named by ``JOINEDUP_REGISTRY_FILE``."""
    return create_registry_server(Path(os.environ["JOINEDUP_REGISTRY_FILE"]))

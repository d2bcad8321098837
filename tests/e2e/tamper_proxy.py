"""A tiny real proxy that corrupts sealed answers, for the tampering end-to-end test.

Run as ``uvicorn --factory tests.e2e.tamper_proxy:create_app`` with
``TAMPER_PROXY_TARGET`` set to a node's base URL. It forwards every POST unchanged
and, on a 200 answer carrying ``{"response": "<JWT>"}``, flips one character in the
middle of the JWT's payload (where the sealed body is) — what an attacker on the
path, or a corrupting middlebox, would do. ``GET /stats`` says how many answers it
corrupted, so a test can tell tampering apart from any other failure.

GETs are forwarded too (with their ``Authorization`` and ``If-None-Match``); a
200 answer holding a published service catalogue (``{"catalogue": …}``, the needs
guide) has its first service renamed "TAMPERED", leaving the signature as it was.
"""

from __future__ import annotations

import json
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

FORWARDED_GET_HEADERS = frozenset({"authorization", "if-none-match"})


def flip_payload_char(token: str) -> str:
    header, payload, signature = token.split(".")
    index = len(payload) // 2
    flipped = "A" if payload[index] != "A" else "B"
    return ".".join([header, payload[:index] + flipped + payload[index + 1 :], signature])


def create_app() -> Starlette:
    target = os.environ["TAMPER_PROXY_TARGET"]
    stats = {"forwarded": 0, "tampered": 0}

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        async with httpx.AsyncClient(base_url=target, timeout=10) as client:
            app.state.client = client
            yield

    async def health(request: Request) -> JSONResponse:
        return JSONResponse({"status": "ok"})

    async def read_stats(request: Request) -> JSONResponse:
        return JSONResponse(stats)

    async def forward(request: Request) -> Response:
        upstream = await request.app.state.client.post(
            request.url.path,
            content=await request.body(),
            headers={"content-type": request.headers.get("content-type", "application/json")},
        )
        stats["forwarded"] += 1
        content = upstream.content
        if upstream.status_code == 200:
            document = json.loads(content)
            if isinstance(document.get("response"), str):
                document["response"] = flip_payload_char(document["response"])
                content = json.dumps(document).encode()
                stats["tampered"] += 1
        return Response(
            content,
            status_code=upstream.status_code,
            media_type=upstream.headers.get("content-type", "application/json"),
        )

    async def forward_get(request: Request) -> Response:
        passed = {k: v for k, v in request.headers.items() if k in FORWARDED_GET_HEADERS}
        upstream = await request.app.state.client.get(request.url.path, headers=passed)
        stats["forwarded"] += 1
        content = upstream.content
        if upstream.status_code == 200:
            document = json.loads(content)
            services = document.get("catalogue", {}).get("services") or []
            if services:
                services[0]["name"] = "TAMPERED"
                content = json.dumps(document).encode()
                stats["tampered"] += 1
        headers = {k: v for k, v in upstream.headers.items() if k.lower() == "etag"}
        return Response(
            content if upstream.status_code != 304 else b"",
            status_code=upstream.status_code,
            headers=headers,
            media_type=upstream.headers.get("content-type", "application/json"),
        )

    return Starlette(
        routes=[
            Route("/health", health, methods=["GET"]),
            Route("/stats", read_stats, methods=["GET"]),
            Route("/{path:path}", forward, methods=["POST"]),
            Route("/{path:path}", forward_get, methods=["GET"]),
        ],
        lifespan=lifespan,
    )

"""Lifespan hook that joins the node to its federation (DESIGN "Federation protocol").

On start-up it loads the signed member registry named by ``settings.registry_path``
and verified under ``settings.authority_verify_key`` (a ``RegistryHolder``: reloads
the file when it changes, refuses a lower version, keeps the last good copy when a
new file fails verification). With ``settings.registry_url`` the node follows the
authority's published registry instead (``federation.registry_feed``): it fetches it
at start-up and then every ``registry_poll_s`` with a conditional GET, installs each
newer verified version at once (a member added or removed takes effect within one
poll, without a restart) and keeps the last good copy in ``registry_path`` (default
``{data_dir}/registry.json``), so a restart while the authority is unreachable still
has a registry; with neither the URL nor a cached copy it refuses to start. It also
creates the in-memory ``ReplayCache`` that makes
every signed request single-use, and — unless another hook already did — the
policy engine (``app.state.policy``, ``node.policy.build_policy_engine``). A node
configured without a registry still runs for its own staff; its partner endpoints
answer 503 "not in a federation".

``JOINEDUP_NODE_TRAFFIC_LOG`` (``settings.traffic_log``) is a test and diagnostic
setting: every request body the node's one ``httpx.AsyncClient`` sends to another
member, and every answer it gets back (``"direction": "response"``), is appended,
as one JSON line, to that file, so an end-to-end test can prove that no raw
identifier (nor any node's own evidence count) ever travels between nodes. Leave it
unset in production.
"""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path

import anyio
import httpx
from fastapi import FastAPI
from nacl.signing import VerifyKey

from federation.envelope import ReplayCache
from federation.errors import RegistryInvalid
from federation.keys import b64decode
from federation.registry import RegistryHolder
from federation.registry_feed import RegistryFeed, fetch_into_cache, following_registry
from node.policy import build_policy_engine

log = logging.getLogger("joinedup.node.federation")


def authority_key(authority_verify_key: str) -> VerifyKey:
    try:
        return VerifyKey(b64decode(authority_verify_key))
    except (ValueError, TypeError) as exc:
        raise RegistryInvalid("authority_verify_key is not a base64url Ed25519 key") from exc


def load_registry_holder(registry_path: Path, authority_verify_key: str) -> RegistryHolder:
    """The registry holder for a node; ``RegistryInvalid`` if the file does not verify."""
    return RegistryHolder(registry_path, authority_key(authority_verify_key))


def _append_line(path: Path, line: str) -> None:
    with path.open("a", encoding="utf-8") as handle:
        handle.write(line + "\n")


def make_traffic_hook(path: Path) -> Callable[[httpx.Request], Awaitable[None]]:
    """An httpx request hook appending ``{"method","url","body"}`` lines to ``path``."""

    async def record_request(request: httpx.Request) -> None:
        body = (await request.aread()).decode("utf-8", errors="replace")
        line = json.dumps({"method": request.method, "url": str(request.url), "body": body})
        await anyio.to_thread.run_sync(_append_line, path, line)

    return record_request


def make_response_traffic_hook(path: Path) -> Callable[[httpx.Response], Awaitable[None]]:
    """An httpx response hook appending ``{"direction": "response", ...}`` lines to ``path``."""

    async def record_response(response: httpx.Response) -> None:
        body = (await response.aread()).decode("utf-8", errors="replace")
        line = json.dumps(
            {
                "direction": "response",
                "method": response.request.method,
                "url": str(response.request.url),
                "status": response.status_code,
                "body": body,
            }
        )
        await anyio.to_thread.run_sync(_append_line, path, line)

    return record_response


@asynccontextmanager
async def federation_state(app: FastAPI) -> AsyncIterator[None]:
    """Put ``registry`` (or None), ``replay_cache`` and ``policy`` on ``app.state``."""
    settings = app.state.settings
    app.state.replay_cache = ReplayCache()
    app.state.registry = None
    feed: RegistryFeed | None = None
    registry_path = settings.registry_path
    if settings.registry_url is not None:
        if not settings.authority_verify_key:
            raise RegistryInvalid("registry_url is set but authority_verify_key is not")
        registry_path = registry_path or settings.data_dir / "registry.json"
        feed = RegistryFeed(settings.registry_url, authority_key(settings.authority_verify_key))
        await fetch_into_cache(app.state.http, feed, registry_path)
    if registry_path is not None:
        if not settings.authority_verify_key:
            raise RegistryInvalid("registry_path is set but authority_verify_key is not")
        app.state.registry = await anyio.to_thread.run_sync(
            load_registry_holder, registry_path, settings.authority_verify_key
        )
        log.info(
            "federation registry loaded",
            extra={"registry_version": app.state.registry.current().version},
        )
    if getattr(app.state, "policy", None) is None:
        # Compiled once per app; share decisions are evaluated against it.
        app.state.policy = await anyio.to_thread.run_sync(
            lambda: build_policy_engine(
                engine=settings.policy_engine,
                rego=settings.policy_rego,
                policy_dir=settings.policy_dir,
                opa_url=settings.opa_url,
            )
        )
    traffic_log = getattr(settings, "traffic_log", None)
    if traffic_log is not None:
        app.state.http.event_hooks["request"].append(make_traffic_hook(Path(traffic_log)))
        app.state.http.event_hooks["response"].append(make_response_traffic_hook(Path(traffic_log)))
        log.warning("traffic log enabled (diagnostic setting): outgoing bodies are recorded")
    if feed is None or registry_path is None:
        yield
        return
    async with following_registry(
        http=app.state.http,
        feed=feed,
        holder=app.state.registry,
        cache=registry_path,
        poll_s=settings.registry_poll_s,
    ):
        yield

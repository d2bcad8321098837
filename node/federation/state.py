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
member is appended, as one JSON line, to that file, so an end-to-end test can prove
that no raw identifier ever travels between nodes. Leave it unset in production.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import anyio
import httpx
from fastapi import FastAPI
from nacl.signing import VerifyKey

from federation.envelope import ReplayCache
from federation.errors import RegistryInvalid
from federation.keys import b64decode
from federation.registry import RegistryHolder
from federation.registry_feed import RegistryFeed
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


def _write_cache(path: Path, signed: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".next")
    tmp.write_text(json.dumps(signed, indent=2), encoding="utf-8")
    tmp.replace(path)  # atomic: the holder never reads half a registry


async def _fetch_into_cache(http: httpx.AsyncClient, feed: RegistryFeed, cache: Path) -> None:
    """The first fetch: into the cache, or keep the cached copy if the URL fails."""
    try:
        changed = await feed.poll(http)
    except RegistryInvalid as exc:
        if not await anyio.to_thread.run_sync(cache.exists):
            raise RegistryInvalid(
                f"registry_url failed ({exc.message}) and there is no cached copy at {cache}"
            ) from exc
        log.warning("registry URL failed at start-up; using the cached copy: %s", exc.message)
        return
    if changed is not None:
        await anyio.to_thread.run_sync(_write_cache, cache, changed[1])


async def follow_registry(
    *, http: httpx.AsyncClient, feed: RegistryFeed, holder: RegistryHolder, cache: Path
) -> int | None:
    """One poll: install and cache a newer registry; its version, or None if none came."""
    try:
        changed = await feed.poll(http)
        if changed is None:
            return None
        registry, signed = changed
        holder.accept(registry)  # refuses a rollback
    except RegistryInvalid as exc:
        log.warning("registry poll refused: %s", exc.message)
        return None
    await anyio.to_thread.run_sync(_write_cache, cache, signed)
    log.info("federation registry updated", extra={"registry_version": registry.version})
    return registry.version


async def _poll_forever(app: FastAPI, feed: RegistryFeed, cache: Path) -> None:
    settings = app.state.settings
    while True:
        await anyio.sleep(settings.registry_poll_s)
        await follow_registry(
            http=app.state.http, feed=feed, holder=app.state.registry, cache=cache
        )


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
        await _fetch_into_cache(app.state.http, feed, registry_path)
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
        log.warning("traffic log enabled (diagnostic setting): outgoing bodies are recorded")
    if feed is None or registry_path is None:
        yield
        return
    task = asyncio.create_task(_poll_forever(app, feed, registry_path), name="registry-poll")
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task

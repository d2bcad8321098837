"""Following the authority's published registry over HTTP (conditional GET, RFC 9110 §13.1.2).

The federation authority publishes the signed registry at a URL (``joinedup registry
serve``, or any web server that sends an ``ETag``). A member polls it: each poll sends
``If-None-Match`` with the last ``ETag``, so an unchanged registry costs one 304 and no
body. A changed one is verified under the authority key before anything else looks at
it (``federation.registry.verify_registry``); transport is never trusted, only the
signature. A bad answer raises ``RegistryInvalid`` and leaves the caller's registry in
force (fail closed: a member is added or removed only by a signed registry).

``fetch_into_cache`` (at start-up) and ``following_registry`` (for the app's
lifetime: one poll every ``poll_s``, each newer verified version installed in the
``RegistryHolder`` at once and written to the cache file for the next start) are
what a node and the consent service run; they take the app's one httpx client.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import anyio
import httpx
from nacl.signing import VerifyKey

from federation.errors import RegistryInvalid
from federation.registry import Registry, RegistryHolder, verify_registry

__all__ = ["RegistryFeed", "fetch_into_cache", "follow_registry", "following_registry"]

log = logging.getLogger("joinedup.federation.registry")

# A registry of a few hundred members is tens of kilobytes; refuse anything absurd.
MAX_REGISTRY_BYTES = 5_000_000


@dataclass
class RegistryFeed:
    """One registry URL, the authority key its documents must verify under, the last ETag."""

    url: str
    authority_key: VerifyKey
    etag: str | None = None

    async def poll(self, http: httpx.AsyncClient) -> tuple[Registry, dict[str, Any]] | None:
        """The verified registry and its signed form if changed since the last poll, else None."""
        headers = {"Accept": "application/json"}
        if self.etag:
            headers["If-None-Match"] = self.etag
        try:
            response = await http.get(self.url, headers=headers)
        except httpx.HTTPError as exc:
            raise RegistryInvalid(f"registry URL unreachable: {type(exc).__name__}") from exc
        if response.status_code == 304:
            return None
        if response.status_code != 200:
            raise RegistryInvalid(f"registry URL answered {response.status_code}")
        if len(response.content) > MAX_REGISTRY_BYTES:
            raise RegistryInvalid("registry document is too large")
        try:
            signed = response.json()
        except ValueError as exc:
            raise RegistryInvalid("registry URL did not answer JSON") from exc
        registry = verify_registry(signed, self.authority_key)
        self.etag = response.headers.get("etag")
        return registry, signed


def _write_cache(path: Path, signed: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".next")
    tmp.write_text(json.dumps(signed, indent=2), encoding="utf-8")
    tmp.replace(path)  # atomic: the holder never reads half a registry


async def fetch_into_cache(http: httpx.AsyncClient, feed: RegistryFeed, cache: Path) -> None:
    """The first fetch, into ``cache``; keeps a cached copy if the URL fails, else raises."""
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


@contextlib.asynccontextmanager
async def following_registry(
    *,
    http: httpx.AsyncClient,
    feed: RegistryFeed,
    holder: RegistryHolder,
    cache: Path,
    poll_s: float,
) -> AsyncIterator[None]:
    """Poll the feed every ``poll_s`` seconds while the context is open."""

    async def poll_forever() -> None:
        while True:
            await anyio.sleep(poll_s)
            await follow_registry(http=http, feed=feed, holder=holder, cache=cache)

    task = asyncio.create_task(poll_forever(), name="registry-poll")
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task

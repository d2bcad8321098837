"""Keeping partners' catalogues current: conditional fetch, verify, store (the guide).

``refresh_partner`` is one attempt for one partner, in three steps so no database
connection is held while the network is awaited:

1. read what we hold (its ETag) in a short transaction;
2. ``GET /federation/guide/catalogue`` with ``If-None-Match`` and a signed
   ``guide_fetch`` request as the bearer token (the publisher serves members only);
3. in a second short transaction: 304 → the copy we hold is confirmed current;
   200 → verified against the publisher's keys in the registry
   (``federation.catalogue.verify_catalogue``, in a worker thread: a large
   catalogue takes milliseconds) and, unless it is older than what we hold,
   stored in place of the old one; anything else (down, slow, 5xx, a tampered or
   wrongly signed document, a rollback to an older version) → the previous copy
   is kept and marked with the failure, which makes its entries stale.

``GuideRefresher`` runs in the node's lifespan (``guide_state``): it refreshes
every partner every ``guide_refresh_s`` seconds, and one partner at once when it
is woken by that partner's ``guide_announce``. Each process of a node runs one;
their writes are idempotent (the same verified version stored twice).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass
from typing import Any

import anyio
import httpx
from fastapi import FastAPI
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from appkit.sqltypes import utcnow
from federation.catalogue import CatalogueInvalid, VerifiedCatalogue, verify_catalogue_parts
from federation.envelope import sign_request
from federation.keys import MemberKeys
from federation.registry import Registry
from federation.wire.guide import GuideFetch
from node.guide.search import held_digests, source_row, store_catalogue
from node.guide.service import ensure_published

CATALOGUE_PATH = "/federation/guide/catalogue"
MAX_CATALOGUE_BYTES = 20_000_000
log = logging.getLogger("joinedup.node.guide")


@dataclass(frozen=True)
class RefreshOutcome:
    """What one attempt did: "fetched", "not_modified" or "failed" (with why)."""

    org_id: str
    status: str
    version: int = 0
    error: str = ""


def _held(engine: Engine, org_id: str) -> tuple[str | None, set[str]]:
    """The ETag and the service digests held for ``org_id``."""
    with Session(engine) as session:
        return source_row(session, org_id).etag, held_digests(session, org_id)


async def _fetch(
    *,
    client: httpx.AsyncClient,
    registry: Registry,
    keys: MemberKeys,
    me: str,
    partner: str,
    etag: str | None,
    timeout_s: float,
) -> httpx.Response:
    token = sign_request(GuideFetch(), keys=keys, issuer=me, audience=partner)
    headers = {"Authorization": f"Bearer {token}"}
    if etag:
        headers["If-None-Match"] = etag
    url = registry.member(partner).base_url.rstrip("/") + CATALOGUE_PATH
    try:
        return await client.get(url, headers=headers, timeout=timeout_s)
    except httpx.RemoteProtocolError:
        # A kept-alive connection the partner closed as we reused it: a GET is safe
        # to send once more (with a fresh signed request: the first may have arrived).
        headers["Authorization"] = "Bearer " + sign_request(
            GuideFetch(), keys=keys, issuer=me, audience=partner
        )
        return await client.get(url, headers=headers, timeout=timeout_s)


def _verified(
    response: httpx.Response, registry: Registry, partner: str, known: set[str]
) -> VerifiedCatalogue:
    if len(response.content) > MAX_CATALOGUE_BYTES:
        raise CatalogueInvalid("the catalogue is larger than this node accepts")
    if b"\\u0000" in response.content:
        raise CatalogueInvalid("the catalogue holds NUL characters")
    try:
        signed: Any = json.loads(response.content)
    except (ValueError, RecursionError) as exc:
        raise CatalogueInvalid("the catalogue is not JSON") from exc
    return verify_catalogue_parts(signed, registry=registry, publisher=partner, known=known)


def _store(
    engine: Engine,
    org_id: str,
    *,
    verified: VerifiedCatalogue | None,
    etag: str | None,
    error: str,
    now: dt.datetime,
) -> RefreshOutcome:
    with Session(engine, expire_on_commit=False) as session:
        source = source_row(session, org_id)
        if verified is not None and verified.version < source.version:
            error = f"offered version {verified.version}, older than the {source.version} held"
            verified = None
        if verified is not None:
            store_catalogue(
                session=session,
                org_id=org_id,
                version=verified.version,
                etag=etag,
                now=now,
                services=verified.services,
            )
            outcome = RefreshOutcome(org_id, "fetched", verified.version)
        elif not error:
            source.checked_at = now
            source.failed_at = None
            source.last_error = None
            session.add(source)
            outcome = RefreshOutcome(org_id, "not_modified", source.version)
        else:
            source.failed_at = now
            source.last_error = error[:200]
            session.add(source)
            outcome = RefreshOutcome(org_id, "failed", source.version, error)
        session.commit()
    return outcome


async def refresh_partner(
    *,
    engine: Engine,
    client: httpx.AsyncClient,
    registry: Registry,
    keys: MemberKeys,
    me: str,
    partner: str,
    timeout_s: float,
    clock: Callable[[], dt.datetime] = utcnow,
) -> RefreshOutcome:
    """One conditional fetch of ``partner``'s catalogue, verified and stored (see above)."""
    etag, known = await anyio.to_thread.run_sync(_held, engine, partner)
    verified: VerifiedCatalogue | None = None
    new_etag: str | None = None
    error = ""
    try:
        response = await _fetch(
            client=client,
            registry=registry,
            keys=keys,
            me=me,
            partner=partner,
            etag=etag,
            timeout_s=timeout_s,
        )
    except httpx.HTTPError as exc:
        error = f"not reachable ({type(exc).__name__})"
    else:
        if response.status_code == 200:
            try:
                verified = await anyio.to_thread.run_sync(
                    _verified, response, registry, partner, known
                )
                new_etag = response.headers.get("ETag")
            except CatalogueInvalid as exc:
                error = f"rejected: {exc.message}"
        elif response.status_code != 304:
            error = f"answered HTTP {response.status_code}"
    outcome = await anyio.to_thread.run_sync(
        lambda: _store(engine, partner, verified=verified, etag=new_etag, error=error, now=clock())
    )
    if outcome.status == "failed":
        log.warning("guide refresh failed", extra={"partner": partner, "error": outcome.error})
    return outcome


async def refresh_partners(
    *,
    engine: Engine,
    client: httpx.AsyncClient,
    registry: Registry,
    keys: MemberKeys,
    me: str,
    timeout_s: float,
    partners: list[str] | None = None,
) -> list[RefreshOutcome]:
    """Refresh ``partners`` (default: every other organisation in the registry) concurrently."""
    names = partners or [m.org_id for m in registry.organisations() if m.org_id != me]
    return list(
        await asyncio.gather(
            *(
                refresh_partner(
                    engine=engine,
                    client=client,
                    registry=registry,
                    keys=keys,
                    me=me,
                    partner=name,
                    timeout_s=timeout_s,
                )
                for name in names
                if registry.has(name)
            )
        )
    )


class GuideRefresher:
    """Refreshes every partner on a schedule, and one at once when woken by its announce."""

    def __init__(self, app: FastAPI) -> None:
        self.app = app
        self.interval_s: float = app.state.settings.guide_refresh_s
        self._due: set[str] = set()
        self._everyone = True
        self._wake = asyncio.Event()

    def wake(self, org_id: str | None = None) -> None:
        """Refresh ``org_id`` (or everyone) now."""
        if org_id is None:
            self._everyone = True
        else:
            self._due.add(org_id)
        self._wake.set()

    async def run_round(self) -> list[RefreshOutcome]:
        state = self.app.state
        holder = getattr(state, "registry", None)
        if holder is None:
            return []
        partners = None if self._everyone else sorted(self._due)
        self._everyone = False
        self._due.clear()
        return await refresh_partners(
            engine=state.engine,
            client=state.http,
            registry=holder.current(),
            keys=state.keys,
            me=state.settings.org_id,
            timeout_s=state.settings.share_deadline_s,
            partners=partners,
        )

    async def run(self) -> None:
        while True:
            try:
                await self.run_round()
            except Exception as exc:  # the database is down: try again next round
                log.error("guide refresh round failed", extra={"exc_type": type(exc).__name__})
            with suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=self.interval_s)
            if not self._wake.is_set():
                self._everyone = True  # the interval ran out: a scheduled round
            self._wake.clear()


@asynccontextmanager
async def guide_state(app: FastAPI) -> AsyncIterator[None]:
    """Lifespan hook: publish this node's catalogue if it never has; run the refresher."""
    state = app.state
    holder = getattr(state, "registry", None)

    def publish_first() -> None:
        with Session(state.engine) as session:
            ensure_published(
                session=session,
                keys=state.keys,
                org_id=state.settings.org_id,
                registry=holder.current() if holder is not None else None,
            )
            try:
                session.commit()
            except IntegrityError:
                session.rollback()  # another process of this node published it first

    await anyio.to_thread.run_sync(publish_first)
    refresher = GuideRefresher(app)
    state.guide = refresher
    if not state.settings.guide_refresh or holder is None:
        yield
        return
    task = asyncio.create_task(refresher.run(), name="guide-refresher")
    try:
        yield
    finally:
        task.cancel()
        with suppress(asyncio.CancelledError):
            await task

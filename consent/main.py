"""The consent service app: ``create_app(settings)``; uvicorn factory ``create_app_from_env``.

Nothing is created at import time. The lifespan makes the data directory, opens the
engine, runs Alembic to every head, loads or creates the service's Ed25519/X25519
keys (``MemberKeys``; the registry must list the same verify key under org_id
``consent`` or nodes will refuse its tokens), opens the one shared
``httpx.AsyncClient`` used for revocation pushes and for the customers' access
reports, and loads the signed member registry (``RegistryHolder``); with
``registry_url`` it first fetches the authority's published copy and then follows
it for the app's lifetime (``federation.registry_feed``), as a node does. What it makes lives on
``app.state``: ``settings``, ``engine``, ``keys``, ``registry`` (or None in a
registry-less demo), ``replay_cache``, ``http``, ``outbox`` (the worker that delivers
revocation pushes, ``consent.outbox``), and ``access_report`` — the flow
behind the portal's "who saw my records" page (``consent.portal.flows``), installed
only when there is a registry of nodes to ask.

    uvicorn --factory consent.main:create_app_from_env   # JOINEDUP_CONSENT_* set
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager, nullcontext

import anyio
import httpx
from fastapi import FastAPI, Request
from pydantic import BaseModel

from appkit.body_limit import install_body_limit
from appkit.database import database_and_keys
from appkit.database_errors import install_database_errors
from appkit.failsafe import install_failsafe
from appkit.health import NOT_READY_DOC, check_database_writable, health_router
from appkit.logs import configure_logging
from appkit.problems import install_problem_handlers
from appkit.replay import replay_purger
from appkit.throttle import install_throttle_answers
from appkit.vocabulary import install_vocabulary
from consent.api import api_router
from consent.config import ConsentSettings
from consent.db import make_engine, upgrade_database
from consent.members.models import ConsentSeenRequest
from consent.outbox.worker import outbox_state
from consent.portal.flows import report_for_app
from consent.portal.pages import error_page
from federation.envelope import ReplayCache
from federation.keys import MemberKeys
from federation.registry import CONSENT_SERVICE_ID, RegistryHolder
from federation.registry_feed import RegistryFeed, fetch_into_cache, following_registry
from federation.vocabulary import load_vocabulary

log = logging.getLogger("joinedup.consent")


class Health(BaseModel):
    status: str
    service: str
    kid: str


def _load_registry(settings: ConsentSettings, keys: MemberKeys) -> RegistryHolder | None:
    authority = settings.authority_key
    if settings.registry_path is None or authority is None:
        return None
    holder = RegistryHolder(settings.registry_path, authority)
    registry = holder.current()
    if not registry.has(CONSENT_SERVICE_ID) or keys.verify_key_b64 not in (
        registry.member(CONSENT_SERVICE_ID).verify_keys
    ):
        log.warning("registry does not list this consent service's key; nodes will refuse tokens")
    return holder


def _registry_feed(settings: ConsentSettings) -> RegistryFeed | None:
    """The authority's published registry to follow (``federation.registry_feed``), if set."""
    authority = settings.authority_key
    if settings.registry_url is None or authority is None:
        return None
    return RegistryFeed(settings.registry_url, authority)


def _following(app: FastAPI, feed: RegistryFeed | None) -> AbstractAsyncContextManager[None]:
    settings: ConsentSettings = app.state.settings
    if feed is None or app.state.registry is None or settings.registry_path is None:
        return nullcontext()
    return following_registry(
        http=app.state.http,
        feed=feed,
        holder=app.state.registry,
        cache=settings.registry_path,
        poll_s=settings.registry_poll_s,
    )


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    settings: ConsentSettings = app.state.settings
    engine = make_engine(settings.effective_database_url)
    async with database_and_keys(app, engine=engine, upgrade=upgrade_database) as keys:
        app.state.replay_cache = ReplayCache()
        async with httpx.AsyncClient(timeout=settings.revocation_push_timeout_s) as http:
            app.state.http = http
            feed = _registry_feed(settings)
            if feed is not None and settings.registry_path is not None:
                await fetch_into_cache(http, feed, settings.registry_path)
            app.state.registry = await anyio.to_thread.run_sync(_load_registry, settings, keys)
            if app.state.registry is not None:
                # Asks every node through the signed protocol, with app.state.http.
                app.state.access_report = report_for_app
            async with (
                outbox_state(app),  # delivers revocation pushes (consent.outbox)
                replay_purger(app, ConsentSeenRequest),  # the replay cache's expired ids
                _following(app, feed),
            ):
                log.info("consent service started", extra={"kid": keys.kid})
                yield


def create_app(settings: ConsentSettings) -> FastAPI:
    """A consent service app for ``settings``; database, keys and registry open in the lifespan."""
    app = FastAPI(
        title="joinedup consent service",
        version="0.1.0",
        description="Enrolment, consent grants and revocations, signed consent tokens.",
        lifespan=lifespan,
    )
    configure_logging(json_lines=settings.log_json)
    app.state.settings = settings
    install_vocabulary(app, load_vocabulary(settings.policy_dir))
    install_problem_handlers(app, bearer_realm="joinedup-consent")

    # Declared or streamed without a length: either way no unbounded body is read.
    install_body_limit(app, settings.max_body_bytes)

    install_database_errors(app, page=error_page)  # browsers get a page
    install_throttle_answers(app)

    @app.get("/health", response_model=Health, tags=["ops"], responses=NOT_READY_DOC)
    def read_health(request: Request) -> Health:
        """Readiness (the database accepts a write) and the service's key id."""
        check_database_writable(request.app.state.engine)
        return Health(status="ok", service=CONSENT_SERVICE_ID, kid=request.app.state.keys.kid)

    app.include_router(health_router())
    app.include_router(api_router)
    # Last, so outermost of ours: whatever escapes the rest is answered and logged here.
    install_failsafe(app)
    return app


def create_app_from_env() -> FastAPI:
    """The uvicorn factory: settings from ``JOINEDUP_CONSENT_*`` environment variables."""
    return create_app(ConsentSettings())

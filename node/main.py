"""The node app: ``create_app(settings)`` builds one organisation's FastAPI node.

Nothing is created at import time. The lifespan, in order: creates the SQLAlchemy
engine, makes the data directory, runs Alembic to every head (each domain adds its
own revision on top of ``0001_records``), loads or creates the node's keys (these
three as the consent service does, ``appkit.database.database_and_keys``), opens
the one shared ``httpx.AsyncClient``, then enters each hook in ``LIFESPAN_HOOKS``;
it unwinds in reverse. What it makes lives on ``app.state``:
``settings``, ``engine``, ``keys``, ``http``, ``vocabulary``.

To run something at startup/shutdown (a policy engine, a tree-head signer), write
an async context manager factory ``hook(app: FastAPI) -> AsyncContextManager[None]``
that reads ``app.state`` and add it to ``LIFESPAN_HOOKS`` here, one line.

``create_app_from_env`` is the uvicorn factory: ``uvicorn --factory
node.main:create_app_from_env`` with ``JOINEDUP_NODE_*`` variables set.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, AsyncExitStack, asynccontextmanager

import anyio
import httpx
from fastapi import FastAPI, Request
from pydantic import BaseModel, Field

from appkit.body_limit import install_body_limit
from appkit.database import database_and_keys
from appkit.database_errors import DATABASE_ERRORS, install_database_errors
from appkit.failsafe import install_failsafe
from appkit.health import NOT_READY_DOC, NotReady, check_database_writable, health_router
from appkit.logs import configure_logging
from appkit.problems import install_problem_handlers
from appkit.throttle import install_throttle_answers
from appkit.vocabulary import install_vocabulary
from federation.keys import load_retired_keys
from federation.vocabulary import load_vocabulary
from node.admission import install_admission
from node.api import api_router
from node.audit.guard import alarm_message
from node.audit.signer import tree_head_signer
from node.config import NodeSettings
from node.db import make_engine, upgrade_database
from node.federation.replay import replay_purger
from node.federation.state import federation_state
from node.guide.refresh import guide_state
from node.middleware import AccessLogMiddleware
from node.outbox.worker import outbox_state
from node.revocations.service import revocation_state
from node.views.token_cache import ConsentTokenCache
from node.web.pages import error_page

log = logging.getLogger("joinedup.node")

LifespanHook = Callable[[FastAPI], AbstractAsyncContextManager[None]]
# Entered in order after the core state exists; exited in reverse.
LIFESPAN_HOOKS: list[LifespanHook] = [
    federation_state,
    revocation_state,
    tree_head_signer,
    outbox_state,
    guide_state,
    replay_purger,
]


class Health(BaseModel):
    status: str = Field(description='"ok", or "audit_alarm" while tree head signing is halted')
    org_id: str
    audit_alarm: str | None = Field(
        default=None, description="why signing stopped (node.audit.guard); operators act on it"
    )


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    settings: NodeSettings = app.state.settings
    engine = make_engine(
        settings.effective_database_url,
        pool_size=settings.db_pool_size,
        max_overflow=settings.db_max_overflow,
        pool_timeout_s=settings.db_pool_timeout_s,
    )
    try:
        async with database_and_keys(app, engine=engine, upgrade=upgrade_database) as keys:
            app.state.retired_keys = await anyio.to_thread.run_sync(
                load_retired_keys, settings.data_dir
            )
            async with httpx.AsyncClient(timeout=settings.share_deadline_s) as http:
                app.state.http = http
                async with AsyncExitStack() as stack:
                    for hook in LIFESPAN_HOOKS:
                        await stack.enter_async_context(hook(app))
                    log.info("node started", extra={"org_id": settings.org_id, "kid": keys.kid})
                    yield
    finally:
        log.info("node stopped", extra={"org_id": settings.org_id})


def create_app(settings: NodeSettings) -> FastAPI:
    """A node app for ``settings``; the database and keys are opened in the lifespan."""
    configure_logging(json_lines=settings.log_json)
    app = FastAPI(
        title=f"joinedup node {settings.org_name or settings.org_id}",
        version="0.1.0",
        description="An organisation's node: its own records, staff and federation endpoints.",
        lifespan=lifespan,
    )
    app.state.settings = settings
    install_vocabulary(app, load_vocabulary(settings.policy_dir))
    app.state.consent_tokens = ConsentTokenCache(settings.consent_token_cache_size)
    install_problem_handlers(app, bearer_realm="joinedup")

    install_database_errors(app, page=error_page)  # browsers get a page
    install_throttle_answers(app)

    @app.get(
        "/health",
        response_model=Health,
        response_model_exclude_none=True,
        tags=["ops"],
        responses=NOT_READY_DOC,
    )
    def read_health(request: Request) -> Health:
        """Readiness (the database accepts a write), the node's id and any audit alarm."""
        engine = request.app.state.engine
        check_database_writable(engine)
        try:
            with engine.connect() as connection:
                alarm = alarm_message(connection)
        except DATABASE_ERRORS as exc:
            raise NotReady("the database cannot be read") from exc
        # Still 200: the node serves, but monitoring must see that it stopped signing.
        if alarm is not None:
            return Health(status="audit_alarm", org_id=settings.org_id, audit_alarm=alarm)
        return Health(status="ok", org_id=settings.org_id)

    app.include_router(health_router())
    app.include_router(api_router)
    # Outermost first: the access log sees the 413s the body limit gives.
    install_body_limit(app, settings.max_body_bytes)
    install_admission(app, settings)  # inside the access log, which sees its 503s
    app.add_middleware(AccessLogMiddleware)
    # Last, so outermost of ours: whatever escapes the rest is answered and logged here.
    install_failsafe(app)
    return app


def create_app_from_env() -> FastAPI:
    """The uvicorn factory: settings from ``JOINEDUP_NODE_*`` environment variables."""
    return create_app(NodeSettings())  # type: ignore[call-arg,unused-ignore]

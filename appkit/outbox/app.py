"""Binding an outbox worker to a FastAPI app: its senders and its lifespan.

Both apps keep the same things on ``app.state`` (``registry`` holder, ``http``,
``keys``, ``settings`` with the ``outbox_*`` fields), so the glue is written once:
``from_app_state`` turns a federation send function into a worker's sender that
reads that state at every attempt (a registry reload, or a test's substituted
client, takes effect at once), and ``outbox_lifespan`` publishes the worker as
``app.state.outbox`` and runs it in the background while the app serves.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

from fastapi import FastAPI

from appkit.outbox.store import ClaimedMessage
from appkit.outbox.worker import DeliveryResult, OutboxWorker, Outcome, Sender, running

# send(message, *, client, registry, keys, timeout_s) -> DeliveryResult
FederationSend = Callable[..., Awaitable[DeliveryResult]]


def from_app_state(app: FastAPI, send: FederationSend) -> Sender:
    """A sender calling ``send`` with the app's current registry, client and keys."""

    async def deliver(message: ClaimedMessage) -> DeliveryResult:
        holder = getattr(app.state, "registry", None)
        if holder is None:
            return DeliveryResult(Outcome.RETRY, "no member registry is loaded")
        result: DeliveryResult = await send(
            message,
            client=app.state.http,
            registry=holder.current(),
            keys=app.state.keys,
            timeout_s=app.state.settings.outbox_timeout_s,
        )
        return result

    return deliver


@asynccontextmanager
async def outbox_lifespan(app: FastAPI, worker: OutboxWorker) -> AsyncIterator[None]:
    """``app.state.outbox = worker``, delivering in the background if ``outbox_worker``."""
    app.state.outbox = worker
    async with running(worker, enabled=app.state.settings.outbox_worker):
        yield

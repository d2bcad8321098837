"""The outbox worker: claim due messages, deliver them, settle each outcome.

One worker runs in every process of an app (started in its lifespan, see
``outbox_worker``); any number of processes and replicas may share one database,
because claims are disjoint (``appkit.outbox.store.claim_due``). A round:

1. claim up to ``batch`` due messages under a lease (a short transaction);
2. deliver them concurrently through the app's senders, one per message kind,
   with no database connection held while they are in flight;
3. settle each in a short transaction: delivered; or failed and due again after
   an exponential backoff with jitter; or dead after ``max_attempts`` tries, or at
   once when the receiver refused it for good (a 4xx it will repeat). An optional
   ``on_settled`` hook for the kind runs in that same transaction (the node audits
   whether a customer notice was delivered there).

The backoff is "equal jitter": attempt n waits between half and all of
``min(cap, base * 2**(n-1))``, so retries spread out and never collapse to zero.
Between rounds the worker sleeps ``poll_s`` unless ``wake()`` is called (an app
calls it after committing a new message, so delivery starts at once in-process;
other processes pick it up within ``poll_s``).

Delivery is at least once: a worker killed after the receiver acted but before it
settled leaves the message to be claimed again when its lease runs out. The
receiver's idempotency receipt (``first_delivery``) makes that exactly once in effect.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import random
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass
from enum import Enum

import anyio
from sqlalchemy.engine import Engine
from sqlmodel import Session

from appkit.outbox.models import OutboxMessageBase
from appkit.outbox.store import ClaimedMessage, claim_due, mark_delivered, mark_failed
from appkit.sqltypes import utcnow

log = logging.getLogger("joinedup.outbox")


class Outcome(Enum):
    DELIVERED = "delivered"
    RETRY = "retry"  # the receiver may take it later: down, slow, 5xx, 429
    REFUSED = "refused"  # the receiver will refuse it however often it is sent


@dataclass(frozen=True)
class DeliveryResult:
    outcome: Outcome
    error: str = ""  # plain words for the admin page; never personal data


@dataclass(frozen=True)
class RetryPolicy:
    """How hard a worker tries; every field is an app setting (``outbox_*``)."""

    base_s: float = 1.0
    cap_s: float = 300.0
    max_attempts: int = 12
    lease_s: float = 30.0
    poll_s: float = 1.0
    batch: int = 20

    def backoff_s(self, attempt: int, rng: Callable[[], float] = random.random) -> float:
        """Seconds to wait after failed attempt number ``attempt`` (1-based), with jitter."""
        ceiling = min(self.cap_s, self.base_s * 2 ** max(attempt - 1, 0))
        return float(ceiling / 2 + rng() * ceiling / 2)


Sender = Callable[[ClaimedMessage], Awaitable[DeliveryResult]]
SettledHook = Callable[[Session, ClaimedMessage, bool], None]


class OutboxWorker:
    """Delivers one app's outbox; ``run_round`` is one pass, ``run`` loops until cancelled."""

    def __init__(
        self,
        *,
        engine: Engine,
        model: type[OutboxMessageBase],
        senders: Mapping[str, Sender],
        policy: RetryPolicy,
        on_settled: Mapping[str, SettledHook] | None = None,
        clock: Callable[[], dt.datetime] = utcnow,
        rng: Callable[[], float] = random.random,
    ) -> None:
        self.engine = engine
        self.model = model
        self.senders = dict(senders)
        self.policy = policy
        self.on_settled = dict(on_settled or {})
        self.clock = clock
        self.rng = rng
        self._wake = asyncio.Event()
        self._stopping = False

    def wake(self) -> None:
        """Start the next round now (call after committing a new message)."""
        self._wake.set()

    async def run_round(self) -> int:
        """Claim, deliver and settle one batch; returns how many messages were tried."""
        claimed = await anyio.to_thread.run_sync(
            lambda: claim_due(
                self.engine,
                self.model,
                now=self.clock(),
                lease_s=self.policy.lease_s,
                limit=self.policy.batch,
                kinds=sorted(self.senders),
            )
        )
        if not claimed:
            return 0
        results = await asyncio.gather(*(self._deliver(message) for message in claimed))
        await anyio.to_thread.run_sync(self._settle, list(zip(claimed, results, strict=True)))
        return len(claimed)

    async def _deliver(self, message: ClaimedMessage) -> DeliveryResult:
        sender = self.senders.get(message.kind)
        if sender is None:
            return DeliveryResult(Outcome.REFUSED, f"no sender for messages of kind {message.kind}")
        try:
            return await sender(message)
        except Exception as exc:  # a bug in one sender must not stop the others
            log.exception("outbox sender failed", extra={"kind": message.kind})
            return DeliveryResult(Outcome.RETRY, f"sending failed ({type(exc).__name__})")

    def _settle(self, settled: list[tuple[ClaimedMessage, DeliveryResult]]) -> None:
        now = self.clock()
        with Session(self.engine) as session:
            for message, result in settled:
                final = self._settle_one(session, message, result, now)
                hook = self.on_settled.get(message.kind)
                if final is not None and hook is not None:
                    hook(session, message, final)
            session.commit()

    def _settle_one(
        self, session: Session, message: ClaimedMessage, result: DeliveryResult, now: dt.datetime
    ) -> bool | None:
        """Record the outcome; True/False when the message is now delivered/dead, else None."""
        if result.outcome is Outcome.DELIVERED:
            mark_delivered(session=session, model=self.model, message_id=message.id, now=now)
            log.info("outbox message delivered", extra=_log_fields(message))
            return True
        given_up = result.outcome is Outcome.REFUSED or message.attempts >= self.policy.max_attempts
        retry_at = (
            None
            if given_up
            else now + dt.timedelta(seconds=self.policy.backoff_s(message.attempts, self.rng))
        )
        row = mark_failed(
            session=session,
            model=self.model,
            message_id=message.id,
            attempt=message.attempts,
            error=result.error,
            retry_at=retry_at,
        )
        level = logging.ERROR if given_up else logging.WARNING
        log.log(
            level,
            "outbox message dead" if given_up else "outbox message will be retried",
            extra={**_log_fields(message), "error": result.error},
        )
        return False if (given_up and row is not None) else None

    def stop(self) -> None:
        """Finish the round in progress, then return from ``run``."""
        self._stopping = True
        self._wake.set()

    async def run(self) -> None:
        """Deliver until stopped or cancelled; a failing database only delays the next round."""
        while not self._stopping:
            try:
                busy = await self.run_round()
            except Exception as exc:  # the database is down: keep the worker alive
                log.error("outbox round failed", extra={"exc_type": type(exc).__name__})
                busy = 0
            if busy or self._stopping:
                continue
            with suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=self.policy.poll_s)
            self._wake.clear()


def _log_fields(message: ClaimedMessage) -> dict[str, object]:
    # Kind, destination org and counters only: the payload may name a subject.
    return {
        "outbox_id": message.id,
        "kind": message.kind,
        "destination": message.destination,
        "attempt": message.attempts,
    }


@asynccontextmanager
async def running(
    worker: OutboxWorker, *, enabled: bool = True, grace_s: float = 5.0
) -> AsyncIterator[OutboxWorker]:
    """Run ``worker`` in the background for the body of the ``async with`` (if ``enabled``).

    On the way out the round in progress may finish for ``grace_s`` (so a clean
    shutdown settles what it sent); after that it is cancelled, and what it held
    is claimed again when its lease runs out.
    """
    if not enabled:
        yield worker
        return
    task = asyncio.create_task(worker.run(), name="outbox-worker")
    try:
        yield worker
    finally:
        worker.stop()
        try:
            await asyncio.wait_for(task, timeout=grace_s)
        except TimeoutError:
            pass  # wait_for cancelled it
        except Exception as exc:
            log.error("outbox worker failed", extra={"exc_type": type(exc).__name__})

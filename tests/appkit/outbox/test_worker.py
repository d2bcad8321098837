"""The outbox worker's rounds with an injected clock and jitter, on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import datetime as dt

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session

from appkit.outbox import (
    ClaimedMessage,
    DeliveryResult,
    OutboxWorker,
    Outcome,
    RetryPolicy,
    enqueue,
)
from node.outbox.models import OutboxMessage

T0 = dt.datetime(2026, 12, 1, 12, 0, tzinfo=dt.UTC)


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> dt.datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += dt.timedelta(seconds=seconds)


def test_backoff_doubles_up_to_the_cap_with_jitter_in_the_upper_half():
    policy = RetryPolicy(base_s=1.0, cap_s=10.0)
    assert [policy.backoff_s(n, lambda: 1.0) for n in (1, 2, 3, 4, 5, 9)] == [1, 2, 4, 8, 10, 10]
    assert [policy.backoff_s(n, lambda: 0.0) for n in (1, 2, 3)] == [0.5, 1, 2]
    assert policy.backoff_s(3, lambda: 0.5) == 3.0


def queue(engine: Engine, kind: str = "customer_notice") -> int:
    with Session(engine) as session:
        row = enqueue(
            session=session,
            model=OutboxMessage,
            kind=kind,
            destination="consent",
            payload={"x": 1},
            now=T0,
        )
        session.commit()
        assert row.id is not None
        return row.id


def status(engine: Engine, message_id: int) -> OutboxMessage:
    with Session(engine) as session:
        row = session.get(OutboxMessage, message_id)
        assert row is not None
        return row


def worker_with(
    engine: Engine, outcomes: list[DeliveryResult], clock: Clock, settled: list[bool]
) -> tuple[OutboxWorker, list[int]]:
    sent: list[int] = []

    async def send(message: ClaimedMessage) -> DeliveryResult:
        sent.append(message.attempts)
        return outcomes.pop(0)

    worker = OutboxWorker(
        engine=engine,
        model=OutboxMessage,
        senders={"customer_notice": send},
        on_settled={"customer_notice": lambda _session, _message, ok: settled.append(ok)},
        policy=RetryPolicy(base_s=2.0, cap_s=60.0, max_attempts=3),
        clock=clock,
        rng=lambda: 1.0,
    )
    return worker, sent


def test_a_failing_message_waits_out_its_backoff_and_is_dead_after_max_attempts(engine):
    message_id = queue(engine)
    clock = Clock()
    settled: list[bool] = []
    down = DeliveryResult(Outcome.RETRY, "the receiver could not be reached")
    worker, sent = worker_with(engine, [down, down, down], clock, settled)

    assert asyncio.run(worker.run_round()) == 1
    assert status(engine, message_id).next_attempt_at == T0 + dt.timedelta(seconds=2)
    clock.advance(1.9)
    assert asyncio.run(worker.run_round()) == 0  # not yet due
    clock.advance(0.1)
    assert asyncio.run(worker.run_round()) == 1
    assert status(engine, message_id).next_attempt_at == clock.now + dt.timedelta(seconds=4)
    clock.advance(4)
    assert asyncio.run(worker.run_round()) == 1
    row = status(engine, message_id)
    assert (row.status, row.attempts, row.last_error) == (
        "dead",
        3,
        "the receiver could not be reached",
    )
    assert sent == [1, 2, 3]
    assert settled == [False]  # the hook hears once, when it is given up
    clock.advance(3600)
    assert asyncio.run(worker.run_round()) == 0  # a dead letter is not tried again


def test_a_refusal_is_a_dead_letter_at_once_and_a_delivery_is_final(engine):
    refused_id = queue(engine)
    delivered_id = queue(engine)
    clock = Clock()
    settled: list[bool] = []
    worker, _ = worker_with(
        engine,
        [DeliveryResult(Outcome.REFUSED, "refused (HTTP 403)"), DeliveryResult(Outcome.DELIVERED)],
        clock,
        settled,
    )
    assert asyncio.run(worker.run_round()) == 2
    assert status(engine, refused_id).status == "dead"
    delivered = status(engine, delivered_id)
    assert (delivered.status, delivered.delivered_at) == ("delivered", T0)
    assert sorted(settled) == [False, True]


def test_a_sender_that_raises_is_a_retry_not_a_stopped_worker(engine):
    message_id = queue(engine)

    async def broken(message: ClaimedMessage) -> DeliveryResult:
        raise RuntimeError("bug")

    worker = OutboxWorker(
        engine=engine,
        model=OutboxMessage,
        senders={"customer_notice": broken},
        policy=RetryPolicy(),
        clock=Clock(),
    )
    assert asyncio.run(worker.run_round()) == 1
    row = status(engine, message_id)
    assert (row.status, row.last_error) == ("pending", "sending failed (RuntimeError)")


@pytest.mark.parametrize("enabled", [True, False])
def test_a_running_worker_delivers_when_woken_and_stops_with_its_app(engine, enabled):
    from appkit.outbox import running

    message_id = queue(engine)
    delivered = asyncio.Event()

    async def send(message: ClaimedMessage) -> DeliveryResult:
        delivered.set()
        return DeliveryResult(Outcome.DELIVERED)

    worker = OutboxWorker(
        engine=engine,
        model=OutboxMessage,
        senders={"customer_notice": send},
        policy=RetryPolicy(poll_s=60),
    )

    async def story() -> bool:
        async with running(worker, enabled=enabled):
            worker.wake()
            try:
                await asyncio.wait_for(delivered.wait(), timeout=10 if enabled else 0.5)
            except TimeoutError:
                return False
        return True

    assert asyncio.run(story()) is enabled
    assert (status(engine, message_id).status == "delivered") is enabled

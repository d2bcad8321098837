"""Writing, claiming, settling and receipts of outbox messages, on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
import threading

import pytest
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from appkit.outbox import (
    claim_due,
    count_by_status,
    enqueue,
    first_delivery,
    list_messages,
    retry_message,
)
from appkit.outbox.store import mark_delivered, mark_failed
from node.outbox.models import DeliveryReceipt, OutboxMessage

T0 = dt.datetime(2026, 12, 1, 12, 0, tzinfo=dt.UTC)
KINDS = ["customer_notice"]


def add(engine: Engine, count: int = 1, *, at: dt.datetime = T0) -> list[int]:
    with Session(engine) as session:
        ids = [
            enqueue(
                session=session,
                model=OutboxMessage,
                kind="customer_notice",
                destination="consent",
                payload={"n": n},
                now=at,
            ).id
            for n in range(count)
        ]
        session.commit()
    return [i for i in ids if i is not None]


def claim(engine: Engine, now: dt.datetime = T0, limit: int = 10, lease_s: float = 30) -> list[int]:
    return [
        m.id
        for m in claim_due(
            engine, OutboxMessage, now=now, lease_s=lease_s, limit=limit, kinds=KINDS
        )
    ]


def test_a_message_rolled_back_with_its_change_is_never_sent(engine):
    with Session(engine) as session:
        enqueue(
            session=session,
            model=OutboxMessage,
            kind="customer_notice",
            destination="consent",
            payload={},
        )
        session.rollback()
    assert claim(engine, now=T0 + dt.timedelta(days=1)) == []


def test_a_claimed_message_is_leased_until_its_lease_runs_out(engine):
    (message_id,) = add(engine)
    assert claim(engine) == [message_id]
    assert claim(engine, now=T0 + dt.timedelta(seconds=29)) == []  # another worker: nothing
    (again,) = claim_due(
        engine,
        OutboxMessage,
        now=T0 + dt.timedelta(seconds=31),
        lease_s=30,
        limit=10,
        kinds=KINDS,
    )
    assert again.id == message_id
    assert again.attempts == 2  # the dead worker's attempt counts


def test_a_message_not_yet_due_or_of_an_unknown_kind_is_not_claimed(engine):
    add(engine, at=T0 + dt.timedelta(minutes=5))
    assert claim(engine) == []
    assert (
        claim_due(
            engine,
            OutboxMessage,
            now=T0 + dt.timedelta(hours=1),
            lease_s=30,
            limit=10,
            kinds=["referral"],
        )
        == []
    )


def test_concurrent_claimers_take_disjoint_messages(engine):
    ids = add(engine, 200)
    taken: list[list[int]] = [[] for _ in range(6)]
    start = threading.Barrier(6)

    def worker(index: int) -> None:
        start.wait()
        while batch := claim(engine, limit=7):
            taken[index].extend(batch)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    every = [i for batch in taken for i in batch]
    assert sorted(every) == sorted(ids)  # each message to exactly one claimer
    assert sum(1 for batch in taken if batch) > 1  # and the claimers really ran side by side


def test_settling_a_failure_schedules_a_retry_or_a_dead_letter(engine):
    first, second = add(engine, 2)
    claimed = claim(engine)
    assert claimed == [first, second]
    with Session(engine) as session:
        later = T0 + dt.timedelta(seconds=4)
        assert mark_failed(
            session=session,
            model=OutboxMessage,
            message_id=first,
            attempt=1,
            error="x" * 500,
            retry_at=later,
        )
        assert mark_failed(
            session=session,
            model=OutboxMessage,
            message_id=second,
            attempt=1,
            error="refused",
            retry_at=None,
        )
        session.commit()
    assert claim(engine, now=T0 + dt.timedelta(seconds=3)) == []
    assert claim(engine, now=T0 + dt.timedelta(seconds=4)) == [first]
    with Session(engine) as session:
        dead = session.get(OutboxMessage, second)
        assert dead is not None
        assert (dead.status, dead.last_error) == ("dead", "refused")
        assert len(session.get(OutboxMessage, first).last_error or "") == 200
        assert count_by_status(session=session, model=OutboxMessage) == {"pending": 1, "dead": 1}


def test_a_stale_failure_report_does_not_undo_a_later_claim(engine):
    (message_id,) = add(engine)
    claim(engine)
    claim(engine, now=T0 + dt.timedelta(seconds=60))  # lease ran out; attempt 2 in flight
    with Session(engine) as session:
        assert (
            mark_failed(
                session=session,
                model=OutboxMessage,
                message_id=message_id,
                attempt=1,
                error="late",
                retry_at=None,
            )
            is None
        )
        session.commit()
        row = session.get(OutboxMessage, message_id)
        assert row is not None
        assert row.status == "pending"
        assert row.lease_until is not None


def test_a_dead_message_retried_by_hand_is_due_at_once_with_its_key(engine):
    (message_id,) = add(engine)
    claim(engine)
    with Session(engine) as session:
        mark_failed(
            session=session,
            model=OutboxMessage,
            message_id=message_id,
            attempt=1,
            error="refused",
            retry_at=None,
        )
        session.commit()
        key = session.get(OutboxMessage, message_id).idempotency_key
    later = T0 + dt.timedelta(hours=2)
    with Session(engine) as session:
        assert retry_message(session=session, model=OutboxMessage, message_id=message_id, now=later)
        session.commit()
    (again,) = claim_due(engine, OutboxMessage, now=later, lease_s=30, limit=10, kinds=KINDS)
    assert (again.id, again.attempts, again.idempotency_key) == (message_id, 1, key)


def test_a_delivered_message_is_not_retried_or_claimed(engine):
    (message_id,) = add(engine)
    claim(engine)
    with Session(engine) as session:
        assert mark_delivered(session=session, model=OutboxMessage, message_id=message_id, now=T0)
        session.commit()
    with Session(engine) as session:
        assert retry_message(session=session, model=OutboxMessage, message_id=message_id) is None
        (row,) = list_messages(session=session, model=OutboxMessage, status="delivered")
        assert row.delivered_at == T0
    assert claim(engine, now=T0 + dt.timedelta(days=1)) == []


def test_a_receipt_lets_a_message_act_once_per_sender(engine):
    with Session(engine) as session:
        assert first_delivery(
            session=session, model=DeliveryReceipt, sender="consent", idempotency_key="idk_1"
        )
        assert not first_delivery(
            session=session, model=DeliveryReceipt, sender="consent", idempotency_key="idk_1"
        )
        assert first_delivery(
            session=session, model=DeliveryReceipt, sender="council", idempotency_key="idk_1"
        )
        session.commit()
    with Session(engine) as session:  # and after the commit, from another session
        assert not first_delivery(
            session=session, model=DeliveryReceipt, sender="consent", idempotency_key="idk_1"
        )
        assert len(session.exec(select(DeliveryReceipt)).all()) == 2


def test_two_concurrent_deliveries_of_one_message_act_once(engine):
    # Both transactions insert before either commits: the unique key decides.
    outcomes: list[bool] = []
    ready = threading.Barrier(2)

    def deliver() -> None:
        with Session(engine) as session:
            ready.wait()
            try:
                outcomes.append(
                    first_delivery(
                        session=session,
                        model=DeliveryReceipt,
                        sender="consent",
                        idempotency_key="idk_race",
                    )
                )
                session.commit()
            except IntegrityError:  # SQLite may refuse at commit instead
                outcomes.append(False)

    threads = [threading.Thread(target=deliver) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == [False, True]


@pytest.mark.parametrize("bad", ["", "x" * 65])
def test_an_idempotency_key_outside_its_bounds_fails_verification(bad):
    from federation.envelope import VerifiedRequest

    with pytest.raises(ValueError, match="idempotency_key"):
        VerifiedRequest(
            issuer="a",
            audience="b",
            request_id="r",
            issued_at=0,
            expires_at=1,
            action="revoke",
            body={},
            idempotency_key=bad,
        )

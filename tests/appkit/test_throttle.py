"""The sign-in brake (``appkit.throttle``) on a real database, SQLite and PostgreSQL.

The clock is injected; the state is rows in the node's ``sign_in_throttle`` table,
so two ``SignInThrottle`` objects on one engine (two workers) see the same counts.
"""

from __future__ import annotations

import uuid

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from appkit.throttle import Limit, SignInThrottle, TooManySignIns
from node.auth.models import StaffSignInThrottle

USER = Limit("username", 5, 900.0, 60.0, "for this username")
CLIENT = Limit("client", 8, 900.0, 300.0, "from this address")


class Clock:
    def __init__(self, now: float = 1_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def throttle(db_engine: Engine, clock: Clock) -> SignInThrottle:
    return SignInThrottle(db_engine, StaffSignInThrottle, limits=(USER, CLIENT), clock=clock)


def name() -> str:
    return f"user-{uuid.uuid4().hex[:8]}"


def address() -> str:
    return f"198.51.100.{uuid.uuid4().int % 250}-{uuid.uuid4().hex[:4]}"


def test_the_fifth_failure_locks_the_username_for_the_lockout(
    throttle: SignInThrottle, clock: Clock
) -> None:
    asha = name()
    for _ in range(4):
        assert throttle.failed(username=asha, client=address()) == []
        throttle.check(username=asha, client=address())
        clock.now += 1
    assert throttle.failed(username=asha, client=address()) == [USER]
    with pytest.raises(TooManySignIns) as locked:
        throttle.check(username=asha, client=address())
    assert (locked.value.retry_after_s, locked.value.limit) == (60, USER)
    clock.now += 59.5
    with pytest.raises(TooManySignIns) as later:
        throttle.check(username=asha, client=address())
    assert later.value.retry_after_s == 1
    clock.now += 0.5
    throttle.check(username=asha, client=address())  # the lockout is over
    throttle.check(username=name(), client=address())


def test_a_password_spray_from_one_address_is_locked_whatever_the_usernames(
    throttle: SignInThrottle, clock: Clock
) -> None:
    sprayer = address()
    for _ in range(CLIENT.max_failures - 1):
        assert throttle.failed(username=name(), client=sprayer) == []
    assert throttle.failed(username=name(), client=sprayer) == [CLIENT]
    with pytest.raises(TooManySignIns) as locked:
        throttle.check(username=name(), client=sprayer)
    assert (locked.value.retry_after_s, locked.value.limit) == (300, CLIENT)
    assert "from this address" in locked.value.message
    throttle.check(username=name(), client=address())  # other callers are not slowed


def test_failures_outside_the_window_do_not_count(throttle: SignInThrottle, clock: Clock) -> None:
    asha, where = name(), address()
    for _ in range(USER.max_failures - 1):
        throttle.failed(username=asha, client=where)
    clock.now += USER.window_s + 1
    assert throttle.failed(username=asha, client=where) == []
    throttle.check(username=asha, client=where)


def test_a_success_clears_the_username_but_not_the_address(
    db_engine: Engine, throttle: SignInThrottle, clock: Clock
) -> None:
    asha, where = name(), address()
    for _ in range(USER.max_failures - 1):
        throttle.failed(username=asha, client=where)
    with Session(db_engine) as session:
        throttle.succeeded(session=session, username=asha)
        session.commit()
    assert throttle.failed(username=asha, client=address()) == []
    # The address keeps its count: a guesser with one good account cannot reset it.
    for _ in range(CLIENT.max_failures - (USER.max_failures - 1)):
        throttle.failed(username=name(), client=where)
    with pytest.raises(TooManySignIns):
        throttle.check(username=name(), client=where)


def test_two_workers_share_the_count(db_engine: Engine, clock: Clock) -> None:
    first = SignInThrottle(db_engine, StaffSignInThrottle, limits=(USER, CLIENT), clock=clock)
    second = SignInThrottle(db_engine, StaffSignInThrottle, limits=(USER, CLIENT), clock=clock)
    asha = name()
    for i in range(USER.max_failures):
        (first if i % 2 else second).failed(username=asha, client=address())
    with pytest.raises(TooManySignIns):
        first.check(username=asha, client=address())


def test_no_username_or_address_is_stored_and_old_rows_go(
    db_engine: Engine, throttle: SignInThrottle, clock: Clock
) -> None:
    asha, where = "asha.patel@example.org", "203.0.113.77"
    throttle.failed(username=asha, client=where)
    table = StaffSignInThrottle.__table__  # type: ignore[attr-defined]
    with db_engine.connect() as connection:
        stored = " ".join(str(row) for row in connection.execute(sa.select(table)).all())
    assert asha not in stored
    assert where not in stored
    clock.now += 10 * USER.window_s
    throttle.failed(username=name(), client=address())  # a later failure tidies up
    with db_engine.connect() as connection:
        rows = connection.execute(sa.select(sa.func.count()).select_from(table)).scalar_one()
    assert rows == 2  # only the fresh failure's two keys remain

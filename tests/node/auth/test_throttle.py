"""The sign-in brake: lockout after repeated failures, per username, short and bounded."""

from __future__ import annotations

import pytest

from node.auth.exceptions import TooManySignIns
from node.auth.throttle import SignInThrottle


def test_the_fifth_failure_locks_the_username_for_the_lockout() -> None:
    throttle = SignInThrottle(max_failures=5, window_s=900, lockout_s=60)
    for i in range(4):
        assert throttle.failed("asha", now=100.0 + i) is False
        throttle.check("asha", now=100.0 + i)
    assert throttle.failed("asha", now=105.0) is True
    with pytest.raises(TooManySignIns) as locked:
        throttle.check("asha", now=105.0)
    assert locked.value.retry_after_s == 60
    with pytest.raises(TooManySignIns) as later:
        throttle.check("asha", now=164.5)
    assert later.value.retry_after_s == 1
    throttle.check("asha", now=165.0)  # the lockout is over
    throttle.check("someone-else", now=105.0)


def test_failures_outside_the_window_do_not_count() -> None:
    throttle = SignInThrottle(max_failures=3, window_s=10, lockout_s=60)
    throttle.failed("asha", now=0.0)
    throttle.failed("asha", now=1.0)
    assert throttle.failed("asha", now=20.0) is False
    throttle.check("asha", now=20.0)


def test_a_success_clears_the_count() -> None:
    throttle = SignInThrottle(max_failures=2, window_s=900, lockout_s=60)
    throttle.failed("asha", now=0.0)
    throttle.succeeded("asha")
    assert throttle.failed("asha", now=1.0) is False
    throttle.check("asha", now=1.0)


def test_a_flood_of_random_names_cannot_evict_a_lockout() -> None:
    throttle = SignInThrottle(max_failures=2, window_s=900, lockout_s=60, max_tracked=100)
    throttle.failed("asha", now=0.0)
    throttle.failed("asha", now=0.0)
    for i in range(1000):
        throttle.failed(f"random-{i}", now=1.0)
    assert len(throttle._tallies) <= 100
    with pytest.raises(TooManySignIns):
        throttle.check("asha", now=2.0)

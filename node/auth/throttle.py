"""Brute-force brake for staff sign-in: a short lockout after repeated failures.

After ``MAX_FAILURES`` failed sign-ins for one username within ``FAILURE_WINDOW_S``,
further attempts for that username are refused (429) for ``LOCKOUT_S`` without the
password being checked (OWASP Authentication Cheat Sheet, "account lockout"). A
success clears the count. The lockout is short on purpose: it is keyed by username
alone, so an attacker can also use it to keep a colleague out, but only for a minute
at a time, and argon2id already makes each guess slow.

The tally lives in memory, one ``SignInThrottle`` per app (see
``node.auth.dependencies.sign_in_throttle``): it is per process and forgotten on a
restart, which is enough to blunt online guessing. Usernames are held only as
SHA-256 digests, and at most ``MAX_TRACKED`` of them, so random names cannot grow
memory without bound. The limits are module constants rather than node settings
for now.
"""

from __future__ import annotations

import hashlib
import math
import threading
import time
from dataclasses import dataclass, field

from node.auth.exceptions import TooManySignIns

MAX_FAILURES = 5
FAILURE_WINDOW_S = 15 * 60.0
LOCKOUT_S = 60.0
MAX_TRACKED = 10_000


@dataclass
class _Tally:
    failures: list[float] = field(default_factory=list)
    locked_until: float = 0.0


class SignInThrottle:
    """Counts recent failed sign-ins per username; thread-safe (handlers run in threads)."""

    def __init__(
        self,
        *,
        max_failures: int = MAX_FAILURES,
        window_s: float = FAILURE_WINDOW_S,
        lockout_s: float = LOCKOUT_S,
        max_tracked: int = MAX_TRACKED,
    ) -> None:
        self.max_failures = max_failures
        self.window_s = window_s
        self.lockout_s = lockout_s
        self.max_tracked = max_tracked
        self._tallies: dict[bytes, _Tally] = {}
        self._lock = threading.Lock()

    @staticmethod
    def _key(username: str) -> bytes:
        return hashlib.sha256(username.encode("utf-8", "surrogatepass")).digest()

    def check(self, username: str, *, now: float | None = None) -> None:
        """Raise ``TooManySignIns`` while ``username`` is locked out."""
        moment = time.monotonic() if now is None else now
        with self._lock:
            tally = self._tallies.get(self._key(username))
            if tally is not None and tally.locked_until > moment:
                raise TooManySignIns(max(1, math.ceil(tally.locked_until - moment)))

    def failed(self, username: str, *, now: float | None = None) -> bool:
        """Count one failure; True when it starts a lockout."""
        moment = time.monotonic() if now is None else now
        key = self._key(username)
        with self._lock:
            tally = self._tallies.get(key)
            if tally is None:
                self._make_room(moment)
                tally = self._tallies[key] = _Tally()
            tally.failures = [t for t in tally.failures if moment - t < self.window_s]
            tally.failures.append(moment)
            if len(tally.failures) >= self.max_failures:
                tally.failures.clear()
                tally.locked_until = moment + self.lockout_s
                return True
            return False

    def succeeded(self, username: str) -> None:
        """Forget the failures of a username that just signed in."""
        with self._lock:
            self._tallies.pop(self._key(username), None)

    def _make_room(self, moment: float) -> None:
        if len(self._tallies) < self.max_tracked:
            return
        # Full: keep lockouts and repeated failures (what an attack on one account
        # looks like); a flood of random names, one failure each, is what goes.
        # Shrinking to 90% makes the scan rare even under such a flood.
        keep = {
            k: t
            for k, t in self._tallies.items()
            if t.locked_until > moment
            or sum(1 for f in t.failures if moment - f < self.window_s) > 1
        }
        target = int(self.max_tracked * 0.9)
        for k in list(keep)[: max(0, len(keep) - target)]:
            del keep[k]  # still too many: the oldest go first
        self._tallies = keep

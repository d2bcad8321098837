"""The requester's consent tokens, kept per subject and purpose between views.

A view needs a consent token before its fan-out: fetched every time, it costs a
second round trip (to the consent service) before the partners are even asked.
A token may be reused for its whole life (partners verify it offline, and refuse
one listing a consent revoked since), but it must not hide a consent *change* from
the next view. So an entry is used only while:

- the token has at least the view's deadline (plus clock skew) left to live, so
  every partner still accepts it when the request reaches it; and
- the subject's consent version (``consent_change`` table, moved on by every grant,
  amendment and revocation the consent service pushes to this node, whichever of
  its processes received it) is the one read *before* the token was fetched.

A change pushed while a token is being fetched moves the version on, so that token
is used once and then dropped; a push that never arrives is bounded by the token's
maximum age (30 s by default), as it already is at the partners. Outcomes other
than a token the consent service vouched for ("unavailable") are never kept.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import anyio
from sqlalchemy.engine import Engine

from federation.consent_token import CLOCK_SKEW_S
from node.revocations.service import consent_version
from node.views.service import ConsentOutcome

# Statuses worth keeping: a token was issued (with or without provisions).
CACHEABLE = frozenset({"obtained", "no_consent"})


@dataclass(frozen=True)
class _Entry:
    outcome: ConsentOutcome
    version: int


class ConsentTokenCache:
    """Least-recently-used tokens keyed by (subject, purpose); safe across threads."""

    def __init__(self, max_entries: int = 10_000) -> None:
        self.max_entries = max_entries
        self._entries: OrderedDict[tuple[str, str], _Entry] = OrderedDict()
        self._lock = threading.Lock()

    def get(
        self,
        subject_id: str,
        purpose: str,
        *,
        version: int,
        needed_s: float,
        now: float | None = None,
    ) -> ConsentOutcome | None:
        """The kept outcome if still current under ``version`` and alive ``needed_s`` more."""
        key = (subject_id, purpose)
        current = time.time() if now is None else now
        with self._lock:
            entry = self._entries.get(key)
            if entry is None:
                return None
            if (
                entry.version != version
                or entry.outcome.expires_at - CLOCK_SKEW_S < current + needed_s
            ):
                del self._entries[key]
                return None
            self._entries.move_to_end(key)
            return entry.outcome

    def put(self, subject_id: str, purpose: str, outcome: ConsentOutcome, *, version: int) -> None:
        if self.max_entries <= 0 or outcome.status not in CACHEABLE or not outcome.token:
            return
        key = (subject_id, purpose)
        with self._lock:
            self._entries[key] = _Entry(outcome, version)
            self._entries.move_to_end(key)
            while len(self._entries) > self.max_entries:
                self._entries.popitem(last=False)

    def __len__(self) -> int:
        return len(self._entries)


async def current_consent_token(
    *,
    cache: ConsentTokenCache | None,
    engine: Engine,
    subject_id: str,
    purpose: str,
    needed_s: float,
    fetch: Callable[[], Awaitable[ConsentOutcome]],
) -> ConsentOutcome:
    """The kept token if still current and alive ``needed_s`` more, else ``fetch()``'s.

    The subject's consent version is read before fetching, so a change pushed during
    the fetch makes the new token stale at once. Views and referral offers use it.
    """
    version = 0
    if cache is not None and cache.max_entries > 0:
        version = await anyio.to_thread.run_sync(consent_version, engine, subject_id)
        kept = cache.get(subject_id, purpose, version=version, needed_s=needed_s)
        if kept is not None:
            return kept
    consent = await fetch()
    if cache is not None:
        cache.put(subject_id, purpose, consent, version=version)
    return consent

"""Keep the demo running when one of its processes dies: restart it, with backoff.

``joinedup demo`` runs six processes. One crashing (or killed by hand to watch the
federation mark a partner unavailable) used to stop the whole demo; now the
``Supervisor`` notices, waits, starts that one process again on the same port with
the same settings and data, and says so. The wait doubles after each crash of the
same process (1 s, 2 s, 4 s ... at most 30 s), so a process that cannot start (a
broken database, a port taken by someone else) is retried slowly instead of in a
tight loop; once a process has stayed up for a minute its next crash waits 1 s again.

The clock is injected (``clock``) so the backoff can be tested without sleeping; the
processes restarted are real (``relaunch`` is ``DemoFederation.relaunch``).
"""

from __future__ import annotations

import time
from collections.abc import Callable, MutableMapping
from dataclasses import dataclass, field

from joinedup.localfed import ServerProcess

FIRST_DELAY_S = 1.0
MAX_DELAY_S = 30.0
STABLE_AFTER_S = 60.0


@dataclass
class _Child:
    """What the supervisor remembers about one process between checks."""

    crashes: int = 0
    started_at: float = 0.0
    restart_at: float | None = None


@dataclass
class Supervisor:
    """Restart dead processes in ``servers`` (replaced in place) through ``relaunch``."""

    servers: MutableMapping[str, ServerProcess]
    relaunch: Callable[[str], ServerProcess]
    clock: Callable[[], float] = time.monotonic
    first_delay_s: float = FIRST_DELAY_S
    max_delay_s: float = MAX_DELAY_S
    stable_after_s: float = STABLE_AFTER_S
    _children: dict[str, _Child] = field(default_factory=dict)

    def __post_init__(self) -> None:
        now = self.clock()
        self._children = {name: _Child(started_at=now) for name in self.servers}

    def check(self) -> list[str]:
        """Look at every process once; what happened, in words for the person watching."""
        now = self.clock()
        said: list[str] = []
        for name in list(self.servers):
            server, child = self.servers[name], self._children.setdefault(name, _Child())
            if server.running():
                if child.crashes and now - child.started_at >= self.stable_after_s:
                    child.crashes = 0
            elif child.restart_at is None:
                delay = self._back_off(child, now)
                said.append(
                    f"{name} stopped unexpectedly (exit code {server.process.returncode}); "
                    f"restarting it in {delay:g} s — the rest of the demo keeps running "
                    f"(its log: {server.log_path})"
                )
            elif now >= child.restart_at:
                said.append(self._restart(name, child, now))
        return said

    def _back_off(self, child: _Child, now: float) -> float:
        """Schedule the next start: 1 s, doubling per crash in a row, at most 30 s."""
        delay = min(self.first_delay_s * 2.0**child.crashes, self.max_delay_s)
        child.crashes += 1
        child.restart_at = now + delay
        return delay

    def _restart(self, name: str, child: _Child, now: float) -> str:
        try:
            self.servers[name] = self.relaunch(name)
        except OSError as exc:  # the process could not even be started: later, then
            delay = self._back_off(child, now)
            return f"{name} could not be restarted ({exc}); trying again in {delay:g} s"
        child.restart_at, child.started_at = None, now
        return f"{name} restarted at {self.servers[name].base_url}"

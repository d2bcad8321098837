"""Start the demo federation: lay it out, run it, seed it once, say where it is.

``DemoFederation`` is a context manager used by ``joinedup demo`` and by the demo
and browser tests alike: on entry it prepares keys, linkage key and the signed
registry under the data directory (``joinedup.localfed``), starts the consent
service and the five nodes as uvicorn processes, adds the staff accounts to each
node's database once it answers, and seeds the scenario unless the data directory
says it already was (``seed.json``); on exit it stops every process. While it runs,
``supervisor()`` restarts a process that dies (``joinedup.demo.supervisor``). Ports are fixed by
default (consent on ``port_base``, nodes on the next five) so the printed URLs stay
the same between runs; tests pass free ports instead.
"""

from __future__ import annotations

import socket
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Self

from joinedup.demo.exceptions import DemoPortInUse
from joinedup.demo.scenario import Scenario, load_scenario
from joinedup.demo.seed import (
    SeedResult,
    create_staff_accounts,
    read_seed_result,
    seed_federation,
)
from joinedup.demo.supervisor import Supervisor
from joinedup.localfed import (
    LocalFederation,
    MemberSpec,
    ServerExitedEarly,
    ServerProcess,
    free_port,
    launch_server,
    prepare_federation,
    stop_all,
    wait_ready,
)

DEFAULT_PORT_BASE = 8700
DEFAULT_DATA_DIR = Path("demo-data")
FREE_PORT_ATTEMPTS = 3


def _check_ports_free(federation: LocalFederation) -> None:
    """Refuse early, naming the port, rather than let a child die with EADDRINUSE."""
    for spec in federation.members:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            # As uvicorn does: a port left in TIME_WAIT by a stopped demo is free.
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                sock.bind((spec.host, spec.port))
            except OSError:
                raise DemoPortInUse(
                    f"port {spec.port} ({spec.org_id}) is in use: is a demo already running? "
                    "Stop it, or choose other ports with --port-base."
                ) from None


@dataclass
class DemoFederation:
    """The running demo: ``with DemoFederation(data_dir) as demo: ...``."""

    data_dir: Path = DEFAULT_DATA_DIR
    port_base: int | None = DEFAULT_PORT_BASE
    scenario: Scenario = field(default_factory=load_scenario)
    ready_timeout: float = 90.0
    federation: LocalFederation | None = None
    servers: dict[str, ServerProcess] = field(default_factory=dict)
    seed: SeedResult | None = None
    seeded_now: bool = False

    def _node_specs(self) -> list[MemberSpec]:
        specs = []
        for offset, org in enumerate(self.scenario.organisations, start=1):
            port = self.port_base + offset if self.port_base is not None else free_port()
            specs.append(MemberSpec(org.org_id, org.name, org.kind, port))
        return specs

    def prepare(self) -> LocalFederation:
        """Keys, linkage key and the signed registry; no process is started."""
        self.federation = prepare_federation(
            self.data_dir,
            self._node_specs(),
            consent_port=self.port_base if self.port_base is not None else None,
        )
        return self.federation

    def start(self) -> None:
        """Prepare, start every process, wait until all answer, add staff, seed if needed."""
        # On free ports (tests) another process may take a port between choosing
        # it and binding it; then lay out again on fresh ports. Fixed ports are the
        # user's choice, so a clash there is reported, not dodged.
        attempts = 1 if self.port_base is not None else FREE_PORT_ATTEMPTS
        for attempt in range(1, attempts + 1):
            try:
                self._start_once()
                return
            except (ServerExitedEarly, DemoPortInUse) as exc:
                clash = isinstance(exc, DemoPortInUse) or exc.port_in_use
                if not clash or attempt == attempts:
                    raise

    def _start_once(self) -> None:
        federation = self.prepare()
        _check_ports_free(federation)
        log_dir = federation.root / "logs"
        self.servers = {}
        try:
            for spec in federation.members:
                self.servers[spec.org_id] = launch_server(
                    spec.org_id,
                    federation.factory_for(spec.org_id),
                    federation.env_for(spec.org_id),
                    spec.port,
                    log_dir,
                    host=spec.host,
                )
            for server in self.servers.values():
                wait_ready(server, self.ready_timeout)
            create_staff_accounts(federation, self.scenario)
            self.seed = read_seed_result(federation.root)
            if self.seed is None:
                self.seed = seed_federation(federation, self.scenario)
                self.seeded_now = True
        except BaseException:
            self.stop()
            raise

    def relaunch(self, org_id: str) -> ServerProcess:
        """Start one member's process again, same port, settings and data (no wait)."""
        assert self.federation is not None
        federation = self.federation
        is_consent = org_id == federation.consent.org_id
        spec = federation.consent if is_consent else federation.node(org_id)
        return launch_server(
            org_id,
            federation.factory_for(org_id),
            federation.env_for(org_id),
            spec.port,
            federation.root / "logs",
            host=spec.host,
        )

    def supervisor(self, clock: Callable[[], float] = time.monotonic) -> Supervisor:
        """A ``Supervisor`` that restarts this demo's crashed processes with backoff."""
        return Supervisor(self.servers, self.relaunch, clock=clock)

    def stop(self) -> None:
        """Stop every process: SIGTERM to all, then wait for each."""
        stop_all(self.servers)

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # -- what to tell the user ---------------------------------------------------

    def url(self, org_id: str) -> str:
        assert self.federation is not None
        if org_id == self.federation.consent.org_id:
            return self.federation.consent.base_url
        return self.federation.node(org_id).base_url

    def summary(self) -> str:
        """The text ``joinedup demo`` prints once everything is up."""
        assert self.federation is not None
        scenario = self.scenario
        lines = [
            f"joinedup demo: data in {self.federation.root}"
            + (" (seeded now)" if self.seeded_now else " (reused, not re-seeded)"),
            "",
            f"  consent portal      {self.url('consent')}/portal",
        ]
        for org in scenario.organisations:
            lines.append(f"  {org.org_id:<19} {self.url(org.org_id)}/ui   ({org.name}, {org.kind})")
        staff = ", ".join(f"{s.username} ({s.role})" for s in scenario.staff)
        customers = ", ".join(c.username for c in scenario.customers)
        lines += [
            "",
            f"  staff logins at every node: {staff}",
            f"  customer logins at the portal: {customers}",
            f"  password for every demo login: {scenario.password}",
            "",
            "  tour: sign in to the portal as 'morgan'; then to "
            f"{self.url(scenario.tour.view_as.org)}/ui as "
            f"'{scenario.tour.view_as.username}' and open Morgan Sample's joined-up view.",
            "",
            "Press Ctrl-C to stop.",
        ]
        return "\n".join(lines)

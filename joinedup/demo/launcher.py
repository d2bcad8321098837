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
from joinedup.demo.identity_provider import (
    DEMO_CLIENT_ID,
    DEMO_CLIENT_SECRET,
    demo_node_env,
    demo_people,
    provider_env,
)
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
PROVIDER_NAME = "identity-provider"
PROVIDER_FACTORY = "joinedup.demo.identity_provider:create_provider_from_env"


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
    # The first organisation signs its staff in through its own identity provider
    # (joinedup.demo.identity_provider), started beside the nodes.
    identity_provider: bool = False
    provider_url: str | None = None
    # How each process was launched (factory, settings, port, host), so a crashed
    # one is relaunched exactly as it was, provider settings included.
    launches: dict[str, tuple[str, dict[str, str], int, str]] = field(default_factory=dict)

    def _launch(
        self, name: str, factory: str, env: dict[str, str], port: int, host: str = "127.0.0.1"
    ) -> None:
        self.launches[name] = (factory, env, port, host)
        self.servers[name] = self.relaunch(name)

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
        self.servers = {}
        extra_env = self._start_identity_provider(federation)
        try:
            for spec in federation.members:
                self._launch(
                    spec.org_id,
                    federation.factory_for(spec.org_id),
                    {**federation.env_for(spec.org_id), **extra_env.get(spec.org_id, {})},
                    spec.port,
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

    def _start_identity_provider(self, federation: LocalFederation) -> dict[str, dict[str, str]]:
        """Start the first organisation's provider; that node's extra settings."""
        if not self.identity_provider:
            return {}
        org = self.scenario.organisations[0]
        port = (
            self.port_base + len(federation.members) if self.port_base is not None else free_port()
        )
        issuer = f"http://127.0.0.1:{port}"
        node_url = federation.node(org.org_id).base_url
        people = demo_people([(s.username, s.role, s.display_name) for s in self.scenario.staff])
        env = provider_env(
            issuer=issuer,
            client_id=DEMO_CLIENT_ID,
            client_secret=DEMO_CLIENT_SECRET,
            redirect_uris=[f"{node_url}/ui/login/oidc/callback"],
            users=people,
        )
        self._launch(PROVIDER_NAME, PROVIDER_FACTORY, env, port)
        self.provider_url = issuer
        roles = sorted({s.role for s in self.scenario.staff})
        return {org.org_id: demo_node_env(issuer=issuer, org_name=org.name, roles=roles)}

    def relaunch(self, org_id: str) -> ServerProcess:
        """Start one process again, same port, settings and data (no wait)."""
        factory, env, port, host = self.launches[org_id]
        assert self.federation is not None
        return launch_server(org_id, factory, env, port, self.federation.root / "logs", host=host)

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
        if self.provider_url:
            first = scenario.organisations[0]
            lines.append(
                f"  identity provider   {self.provider_url}   "
                f"({first.name} staff choose 'Sign in with your {first.name} account')"
            )
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

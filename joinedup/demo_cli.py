"""``joinedup demo``: the whole federation on this machine, seeded with one story.

Starts the consent service and five organisation nodes as separate processes on
loopback ports, seeds the scenario on first run (``joinedup/demo/scenario.yaml``),
prints where everything is and how to sign in, restarts (with backoff, saying so) a
process that dies while the others keep running, and stops every process cleanly on
Ctrl-C. A second run with the same data directory reuses the data.
"""

from __future__ import annotations

import signal
import threading
from pathlib import Path
from types import FrameType
from typing import Annotated

import typer

from joinedup.demo.launcher import DEFAULT_DATA_DIR, DEFAULT_PORT_BASE, DemoFederation

CHILD_POLL_S = 1.0


def demo(
    data_dir: Annotated[
        Path, typer.Option(help="Where keys, databases, registry and logs live.")
    ] = DEFAULT_DATA_DIR,
    port_base: Annotated[
        int,
        typer.Option(
            min=1024, max=65000, help="Consent service port; the five nodes take the next five."
        ),
    ] = DEFAULT_PORT_BASE,
    with_identity_provider: Annotated[
        bool,
        typer.Option(
            help="Also run an OpenID Connect provider (port base + 6) through which the "
            "first organisation's staff sign in."
        ),
    ] = False,
) -> None:
    """Run the demo federation (consent service + five organisations) until Ctrl-C."""
    demo_federation = DemoFederation(
        data_dir=data_dir, port_base=port_base, identity_provider=with_identity_provider
    )
    typer.echo(f"starting the demo federation in {data_dir.resolve()} ...")
    try:
        demo_federation.start()
    except KeyboardInterrupt:  # start() has already stopped what it started
        typer.echo("interrupted; demo stopped")
        raise typer.Exit(0) from None
    except Exception as exc:
        typer.echo(f"demo failed to start: {exc}", err=True)
        typer.echo(f"process logs: {data_dir.resolve() / 'logs'}", err=True)
        raise typer.Exit(1) from None
    # From here Ctrl-C (or SIGTERM) means "stop cleanly": the wait loop ends and
    # every child is terminated and waited for.
    stop = threading.Event()

    def request_stop(signum: int, frame: FrameType | None) -> None:
        stop.set()

    previous = {s: signal.signal(s, request_stop) for s in (signal.SIGINT, signal.SIGTERM)}
    typer.echo(demo_federation.summary())
    supervisor = demo_federation.supervisor()
    try:
        while not stop.wait(CHILD_POLL_S):
            # A process that dies is restarted with backoff; the others keep running.
            for message in supervisor.check():
                typer.echo(message, err=True)
    finally:
        typer.echo("stopping ...")
        demo_federation.stop()
        for signum, handler in previous.items():
            signal.signal(signum, handler)
    typer.echo("demo stopped")

"""Serving an app with uvicorn in one process or in N worker processes on one port.

One process: the app object is built from the settings and run (as before).
N processes (``--workers N``): uvicorn's supervisor forks N workers sharing the
listening socket, each importing the app through its factory, so the settings
reach them as environment variables: the command-line overrides are exported
under the app's prefix before the workers start. The database is migrated once,
by the supervisor, and the workers are told not to (``MIGRATE_ON_START=false``):
N lifespans racing to run Alembic is what this avoids. Everything a request
depends on lives in the database (docs/operations.md "Workers and replicas"), so
any worker may answer any request.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from typing import Any

from fastapi import FastAPI

WORKER_START_TIMEOUT_S = 120


def serve(
    *,
    build_app: Callable[[], FastAPI],
    factory: str,
    env_prefix: str,
    overrides: Mapping[str, Any],
    migrate: Callable[[], None],
    host: str,
    port: int,
    workers: int,
    http: str = "auto",
) -> None:
    """Run the app on ``host:port`` with ``workers`` processes (1: in this process)."""
    import uvicorn

    if workers <= 1:
        uvicorn.run(build_app(), host=host, port=port, access_log=False, http=http)
        return
    for name, value in overrides.items():
        if value is not None:
            os.environ[f"{env_prefix}{name.upper()}"] = str(value)
    migrate()
    os.environ[f"{env_prefix}MIGRATE_ON_START"] = "false"
    uvicorn.run(
        factory,
        factory=True,
        host=host,
        port=port,
        workers=workers,
        access_log=False,
        http=http,
        # A worker's start (imports, policy compile, keys) can take far longer than
        # uvicorn's 5 s default on a busy host; a worker killed for it is restarted
        # and killed again, and the port never serves.
        timeout_worker_healthcheck=WORKER_START_TIMEOUT_S,
    )

"""Liveness and readiness, as Kubernetes probes them (and load balancers, and tests).

- ``GET /health/live``: the process answers. No database work, so a database outage
  does not make the orchestrator restart healthy pods (which would not help).
- ``GET /health/ready``: the database can be *written*: a no-op update of Alembic's
  ``alembic_version`` row, committed. ``SELECT 1`` is not enough: a database on a
  full or failing disk, or one switched read-only, still answers it while every
  write fails. Not ready is 503 problem+json, so traffic goes elsewhere.

Each app's own ``GET /health`` (which also names the service) runs the readiness
check too, so it never says "ok" for a node that cannot record what it does.
"""

from __future__ import annotations

from typing import Any, Literal

import sqlalchemy as sa
from fastapi import APIRouter, Request
from pydantic import BaseModel
from sqlalchemy.engine import Engine

from appkit.database_errors import DATABASE_ERRORS
from appkit.problems import problem_doc
from federation.errors import JoinedUpError

__all__ = [
    "Liveness",
    "NotReady",
    "Readiness",
    "check_database_writable",
    "health_router",
]

# Present in both apps' databases (Alembic's bookkeeping), one row per head.
_WRITE_PROBE = sa.text("UPDATE alembic_version SET version_num = version_num")


class NotReady(JoinedUpError):
    status_code = 503
    title = "Service unavailable"
    type_slug = "service-unavailable"


class Liveness(BaseModel):
    status: Literal["ok"] = "ok"


class Readiness(BaseModel):
    status: Literal["ok"] = "ok"
    database: Literal["writable"] = "writable"


def check_database_writable(engine: Engine) -> None:
    """Commit a no-op write; ``NotReady`` (503) if the database refuses it."""
    try:
        with engine.begin() as connection:
            connection.execute(_WRITE_PROBE)
    except DATABASE_ERRORS as exc:
        raise NotReady("the database cannot be written to") from exc


NOT_READY_DOC: dict[int | str, dict[str, Any]] = {
    503: problem_doc(
        503,
        "Not ready: the database cannot be written to",
        title="Service unavailable",
        slug="service-unavailable",
        detail="the database cannot be written to",
    )
}


def health_router() -> APIRouter:
    """``/health/live`` and ``/health/ready`` for an app whose engine is ``app.state.engine``."""
    router = APIRouter(prefix="/health", tags=["ops"])

    @router.get("/live", response_model=Liveness)
    def read_liveness() -> Liveness:
        """Liveness: the process answers (no database work)."""
        return Liveness()

    @router.get("/ready", response_model=Readiness, responses=NOT_READY_DOC)
    def read_readiness(request: Request) -> Readiness:
        """Readiness: the database accepts a write."""
        check_database_writable(request.app.state.engine)
        return Readiness()

    return router

"""Database failures answer problem+json, never 500: 409, 422 or 503.

Services check constraints before writing, and the session dependencies roll back
on any exception, so what reaches these handlers has written nothing:

- ``IntegrityError`` (a race past a service's check): 409 Conflict.
- ``DataError`` (a value the column cannot store): 422.
- The database itself failing (disk I/O error, disk full, read-only, connection
  lost, pool exhausted, lock timeout; SQLAlchemy's ``OperationalError``,
  ``InternalError``, ``InterfaceError``, ``TimeoutError`` and the raw DB-API errors
  some writes meet): 503 with ``Retry-After``, because the client did nothing wrong
  and the same request may succeed later. Logged by exception type only.

Programming errors (``ProgrammingError``: a bug) are left to ``appkit.failsafe`` (500).
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import psycopg
import sqlalchemy as sa
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from appkit.problems import problem_response

__all__ = ["DATABASE_ERRORS", "RETRY_AFTER_S", "UNAVAILABLE_ERRORS", "install_database_errors"]

log = logging.getLogger("joinedup.database")

# Everything a database call can raise: SQLAlchemy's errors and the raw DB-API ones.
DATABASE_ERRORS: tuple[type[Exception], ...] = (
    sa.exc.SQLAlchemyError,
    sqlite3.Error,
    psycopg.Error,
)
# The database is failing, not the request: 503.
UNAVAILABLE_ERRORS: tuple[type[Exception], ...] = (
    sa.exc.OperationalError,
    sa.exc.InternalError,
    sa.exc.InterfaceError,
    sa.exc.TimeoutError,
    sqlite3.OperationalError,
    psycopg.OperationalError,
    psycopg.InternalError,
)
RETRY_AFTER_S = 5


@dataclass(frozen=True)
class _Answer:
    status: int
    title: str
    slug: str
    detail: str
    level: int


_CONFLICT = _Answer(
    409, "Conflict", "conflict", "the change conflicts with existing records", logging.WARNING
)
_UNSTORABLE = _Answer(
    422,
    "Validation failed",
    "validation-failed",
    "a value cannot be stored (out of range or malformed)",
    logging.WARNING,
)
_UNAVAILABLE = _Answer(
    503,
    "Service unavailable",
    "service-unavailable",
    "the database cannot be used just now; nothing was changed, try again later",
    logging.ERROR,
)


def _handler(answer: _Answer) -> Callable[[Request, Exception], Awaitable[JSONResponse]]:
    async def handle_database_error(request: Request, exc: Exception) -> JSONResponse:
        # The route template, never the raw path (see the access log's reasons).
        route = str(getattr(request.scope.get("route"), "path", "unmatched"))
        log.log(
            answer.level,
            "database error answered %d",
            answer.status,
            extra={"route": route, "exc_type": type(exc).__name__},
        )
        response = problem_response(
            status=answer.status,
            title=answer.title,
            detail=answer.detail,
            slug=answer.slug,
            instance=request.url.path,
        )
        if answer.status == 503:
            response.headers["Retry-After"] = str(RETRY_AFTER_S)
        return response

    return handle_database_error


def install_database_errors(app: FastAPI) -> None:
    """Register the 409 / 422 / 503 handlers on ``app``."""
    app.add_exception_handler(sa.exc.IntegrityError, _handler(_CONFLICT))
    app.add_exception_handler(sa.exc.DataError, _handler(_UNSTORABLE))
    for error in UNAVAILABLE_ERRORS:
        app.add_exception_handler(error, _handler(_UNAVAILABLE))

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

A browser (``Accept: text/html``, ``appkit.pages.wants_page``) gets the same status
as a plain-words page from the app's page kit, with the same ``Retry-After``.

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
from starlette.responses import Response

from appkit.pages import wants_page
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
# How an app shows an error as a page: ``PageKit.error_page``.
ErrorPage = Callable[[Request, int, str], Response]


@dataclass(frozen=True)
class _Answer:
    status: int
    title: str
    slug: str
    detail: str
    level: int
    page: str  # the same, in words for a person at a browser


_CONFLICT = _Answer(
    409,
    "Conflict",
    "conflict",
    "the change conflicts with existing records",
    logging.WARNING,
    "Someone else changed this at the same moment, so nothing was saved. "
    "Go back, check what is recorded now and try again.",
)
_UNSTORABLE = _Answer(
    422,
    "Validation failed",
    "validation-failed",
    "a value cannot be stored (out of range or malformed)",
    logging.WARNING,
    "Something you entered is too long or not in a form that can be saved. "
    "Go back, check the form and try again.",
)
_UNAVAILABLE = _Answer(
    503,
    "Service unavailable",
    "service-unavailable",
    "the database cannot be used just now; nothing was changed, try again later",
    logging.ERROR,
    "The records cannot be reached just now. Nothing was changed or shared. "
    "Please wait a few seconds and try again.",
)


def _handler(
    answer: _Answer, page: ErrorPage | None
) -> Callable[[Request, Exception], Awaitable[Response]]:
    async def handle_database_error(request: Request, exc: Exception) -> Response:
        # The route template, never the raw path (see the access log's reasons).
        route = str(getattr(request.scope.get("route"), "path", "unmatched"))
        log.log(
            answer.level,
            "database error answered %d",
            answer.status,
            extra={"route": route, "exc_type": type(exc).__name__},
        )
        response: Response
        if page is not None and wants_page(request):
            response = page(request, answer.status, answer.page)
        else:
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


def install_database_errors(app: FastAPI, *, page: ErrorPage | None = None) -> None:
    """Register the 409 / 422 / 503 handlers on ``app``; browsers get ``page``."""
    app.add_exception_handler(sa.exc.IntegrityError, _handler(_CONFLICT, page))
    app.add_exception_handler(sa.exc.DataError, _handler(_UNSTORABLE, page))
    for error in UNAVAILABLE_ERRORS:
        app.add_exception_handler(error, _handler(_UNAVAILABLE, page))

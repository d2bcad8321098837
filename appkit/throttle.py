"""The sign-in brake, per username and per client address, kept in the app's database.

Two limits, checked before a password is (OWASP Authentication Cheat Sheet, "account
lockout" and "login throttling"):

- **per username**: ``PER_USERNAME.max_failures`` failures for one username within
  ``window_s`` lock that username for ``lockout_s``. Short on purpose: an attacker
  can use it to keep a colleague out, but only a minute at a time.
- **per client address**: ``PER_CLIENT.max_failures`` failures from one address,
  whatever usernames they tried, lock that address for ``lockout_s``. This is what
  slows a password spray (one password, many usernames) or a walk through thirty
  usernames, which the per-username limit never sees. It is more generous, because
  an office behind one NAT address shares it.

A success clears the username's count, never the address's (a guesser holding one
good account must not reset their budget with it). The state is rows in the app's
own database (``SignInThrottleBase``: each app declares its table, created by its
Alembic revision), so it holds across worker processes and restarts; a refused
attempt writes in its own short transaction, committed at once, because the
request's transaction rolls back with the 401 (a success clears the username's
count in the request's own transaction). Keys are SHA-256 digests of the
scope and the value: no username or address is stored. Rows whose window and
lockout are both over are deleted as new failures arrive, so the table stays small.

The client address is ``request.client.host``: behind a proxy run uvicorn with
``--proxy-headers --forwarded-allow-ips=<the proxy's address>`` so it is the
caller's, not the proxy's (docs/operations.md).
"""

from __future__ import annotations

import hashlib
import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session
from sqlmodel import Field, SQLModel

from appkit.problems import problem_doc, problem_response
from federation.errors import JoinedUpError

__all__ = [
    "PER_CLIENT",
    "PER_USERNAME",
    "TOO_MANY_SIGN_INS",
    "Limit",
    "SignInThrottle",
    "SignInThrottleBase",
    "TooManySignIns",
    "client_address",
    "install_throttle_answers",
]


@dataclass(frozen=True)
class Limit:
    """``max_failures`` within ``window_s`` lock ``scope``'s value for ``lockout_s``."""

    scope: str
    max_failures: int
    window_s: float
    lockout_s: float
    # How the refusal names what is locked, to the person and in the audit entry.
    what: str


PER_USERNAME = Limit("username", 5, 15 * 60.0, 60.0, "for this username")
PER_CLIENT = Limit("client", 20, 15 * 60.0, 5 * 60.0, "from this address")


class TooManySignIns(JoinedUpError):
    """429: the username or the client address had too many failed sign-ins lately."""

    status_code = 429
    title = "Too many sign-in attempts"
    type_slug = "too-many-sign-ins"

    def __init__(self, retry_after_s: int, limit: Limit = PER_USERNAME) -> None:
        super().__init__(f"too many failed sign-ins {limit.what}; try again in {retry_after_s} s")
        self.retry_after_s = retry_after_s
        self.limit = limit

    def in_words(self) -> str:
        """What a sign-in page says: 'Too many failed sign-ins ... Please wait a minute ...'."""
        return (
            f"Too many failed sign-ins {self.limit.what}. "
            f"Please wait {wait_in_words(self.retry_after_s)} and try again."
        )


def wait_in_words(seconds: int) -> str:
    """``59`` -> "a minute", ``300`` -> "5 minutes": how long to wait, for a person."""
    minutes = max(1, -(-seconds // 60))
    return "a minute" if minutes == 1 else f"{minutes} minutes"


class SignInThrottleBase(SQLModel):
    """The columns of an app's throttle table (``table=True`` subclass in its models)."""

    key_hash: str = Field(primary_key=True, max_length=64)
    failures: int = Field(default=0)
    window_start_s: float = Field(index=True)
    locked_until_s: float = Field(default=0.0)


def client_address(request: Request) -> str:
    """The caller's address as the server sees it (see the module docstring on proxies)."""
    return request.client.host if request.client else "unknown"


class SignInThrottle:
    """Counts failed sign-ins in ``table`` on ``engine``; ``clock`` is wall-clock seconds."""

    def __init__(
        self,
        engine: Engine,
        table: type[SignInThrottleBase],
        *,
        limits: tuple[Limit, ...] = (PER_USERNAME, PER_CLIENT),
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.engine = engine
        self.table: sa.Table = table.__table__  # type: ignore[attr-defined]
        self.limits = limits
        self.clock = clock

    def _keys(self, *, username: str, client: str) -> dict[Limit, str]:
        values = {"username": username, "client": client}
        return {
            limit: hashlib.sha256(
                f"{limit.scope}\0{values[limit.scope]}".encode("utf-8", "surrogatepass")
            ).hexdigest()
            for limit in self.limits
        }

    def check(self, *, username: str, client: str) -> None:
        """Raise ``TooManySignIns`` while the username or the address is locked out."""
        now = self.clock()
        keys = self._keys(username=username, client=client)
        t = self.table
        with self.engine.connect() as connection:
            rows = connection.execute(
                sa.select(t.c.key_hash, t.c.locked_until_s).where(
                    t.c.key_hash.in_(list(keys.values())), t.c.locked_until_s > now
                )
            ).all()
        locked = {str(key): float(until) for key, until in rows}
        for limit, key in keys.items():
            if key in locked:
                raise TooManySignIns(max(1, math.ceil(locked[key] - now)), limit)

    def failed(self, *, username: str, client: str) -> list[Limit]:
        """Count one failure against each limit; the limits it just locked."""
        now = self.clock()
        t = self.table
        started: list[Limit] = []
        with self.engine.begin() as connection:
            for limit, key in self._keys(username=username, client=client).items():
                connection.execute(self._insert_if_missing(key, now))
                stale = t.c.window_start_s <= now - limit.window_s
                failures = connection.execute(
                    sa.update(t)
                    .where(t.c.key_hash == key)
                    .values(
                        failures=sa.case((stale, 1), else_=t.c.failures + 1),
                        window_start_s=sa.case((stale, now), else_=t.c.window_start_s),
                    )
                    .returning(t.c.failures)
                ).scalar_one()
                if failures >= limit.max_failures:
                    connection.execute(
                        sa.update(t)
                        .where(t.c.key_hash == key)
                        .values(
                            failures=0, window_start_s=now, locked_until_s=now + limit.lockout_s
                        )
                    )
                    started.append(limit)
            longest = max(limit.window_s for limit in self.limits)
            connection.execute(
                sa.delete(t).where(t.c.window_start_s < now - longest, t.c.locked_until_s < now)
            )
        return started

    def succeeded(self, *, session: Session, username: str) -> None:
        """Forget the username's failures (the address's stay counted).

        In the request's ``session``, so it commits with the sign-in: that session
        has written already (the last sign-in time), and on SQLite a second
        connection would wait on its lock.
        """
        keys = self._keys(username=username, client="")
        per_username = [key for limit, key in keys.items() if limit.scope == "username"]
        session.execute(sa.delete(self.table).where(self.table.c.key_hash.in_(per_username)))

    def _insert_if_missing(self, key: str, now: float) -> sa.Executable:
        row = {"key_hash": key, "failures": 0, "window_start_s": now, "locked_until_s": 0.0}
        if self.engine.dialect.name == "postgresql":
            return postgresql.insert(self.table).values(**row).on_conflict_do_nothing()
        return sqlite.insert(self.table).values(**row).on_conflict_do_nothing()


# The 429 in the OpenAPI schema of each sign-in endpoint.
TOO_MANY_SIGN_INS: dict[int | str, dict[str, Any]] = {
    429: problem_doc(
        429,
        "Too many failed sign-ins for this username or from this address lately",
        title="Too many sign-in attempts",
        slug="too-many-sign-ins",
        detail="too many failed sign-ins for this username; try again in 60 s",
    )
}


def install_throttle_answers(app: FastAPI) -> None:
    """Answer ``TooManySignIns`` as 429 problem+json with ``Retry-After`` (RFC 6585 §4)."""

    async def handle_too_many(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, TooManySignIns)
        response = problem_response(
            status=429,
            title=exc.title,
            detail=exc.message,
            slug=exc.type_slug,
            instance=request.url.path,
        )
        response.headers["Retry-After"] = str(exc.retry_after_s)
        return response

    app.add_exception_handler(TooManySignIns, handle_too_many)

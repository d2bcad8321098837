"""``joinedup outbox list|retry``: an operator's view of a node's or the consent service's outbox.

A thin typer shell over ``appkit.outbox`` (STYLE "The CLI"), for the same work as
the node's admin page (``/ui/outbox``) and for the consent service, which has no
admin pages. ``--app`` picks the outbox (``node``, the default, or ``consent``);
the database comes from ``--database-url``, else ``--data-dir`` (the SQLite file
there), else the app's own settings (``JOINEDUP_NODE_*`` / ``JOINEDUP_CONSENT_*``).
``list`` prints one line per message (``--json`` for JSON lines); it never prints a
message's contents, which may name a person. ``retry`` makes given-up messages due
again, keeping their idempotency keys.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer
from pydantic import ValidationError
from sqlmodel import Session

from appkit.outbox import STATUSES, OutboxMessageBase, list_messages, retry_message

outbox_app = typer.Typer(no_args_is_help=True, help="List and retry outbox messages.")


class AppName(StrEnum):
    node = "node"
    consent = "consent"


AppOption = Annotated[AppName, typer.Option("--app", help="Whose outbox: node or consent.")]
DataDir = Annotated[Path | None, typer.Option(help="The app's data directory (SQLite).")]
DatabaseUrl = Annotated[str | None, typer.Option(help="Database URL (else the app's settings).")]


def _database_url(app: AppName, data_dir: Path | None, database_url: str | None) -> str:
    if database_url:
        return database_url
    if data_dir is not None:
        return f"sqlite:///{data_dir}/{app.value}.db"
    try:
        if app is AppName.node:
            from node.config import NodeSettings

            return NodeSettings().effective_database_url  # type: ignore[call-arg,unused-ignore]
        from consent.config import ConsentSettings

        return ConsentSettings().effective_database_url
    except ValidationError as exc:
        typer.echo(
            f"give --data-dir or --database-url ({exc.error_count()} settings missing)", err=True
        )
        raise typer.Exit(2) from None


@contextmanager
def _outbox(
    app: AppName, data_dir: Path | None, database_url: str | None
) -> Iterator[tuple[Session, type[OutboxMessageBase]]]:
    """A session on the app's (migrated) database and its outbox table; commits on success."""
    model: type[OutboxMessageBase]
    if app is AppName.node:
        from node.db import make_engine, upgrade_database
        from node.outbox.models import OutboxMessage

        model = OutboxMessage
    else:
        from consent.db import make_engine, upgrade_database  # type: ignore[assignment]
        from consent.outbox.models import ConsentOutboxMessage

        model = ConsentOutboxMessage
    engine = make_engine(_database_url(app, data_dir, database_url))
    try:
        upgrade_database(engine)
        with Session(engine, expire_on_commit=False) as session:
            yield session, model
            session.commit()
    finally:
        engine.dispose()


@outbox_app.command("list")
def list_outbox(
    app: AppOption = AppName.node,
    status: Annotated[
        str | None, typer.Option(help=f"Only this status: {', '.join(STATUSES)}.")
    ] = None,
    limit: Annotated[int, typer.Option(min=1, max=100_000)] = 200,
    as_json: Annotated[bool, typer.Option("--json", help="JSON lines.")] = False,
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Messages, newest first: id, kind, destination, status, tries, next try, last problem."""
    if status is not None and status not in STATUSES:
        typer.echo(f"status must be one of {', '.join(STATUSES)}", err=True)
        raise typer.Exit(2)
    with _outbox(app, data_dir, database_url) as (session, model):
        rows = list_messages(session=session, model=model, status=status, limit=limit)
        for row in rows:
            fields = {
                "id": row.id,
                "kind": row.kind,
                "destination": row.destination,
                "status": row.status,
                "attempts": row.attempts,
                "next_attempt_at": row.next_attempt_at.isoformat(),
                "last_error": row.last_error or "",
            }
            if as_json:
                typer.echo(json.dumps(fields))
            else:
                typer.echo("\t".join(str(value) for value in fields.values()))


@outbox_app.command("retry")
def retry_outbox(
    message_ids: Annotated[list[int] | None, typer.Argument(help="Message ids.")] = None,
    all_dead: Annotated[bool, typer.Option("--all-dead", help="Every given-up message.")] = False,
    app: AppOption = AppName.node,
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Make messages due again now (given-up ones included); exit 1 if one cannot be."""
    if not message_ids and not all_dead:
        typer.echo("name message ids or give --all-dead", err=True)
        raise typer.Exit(2)
    missing = []
    with _outbox(app, data_dir, database_url) as (session, model):
        ids = list(message_ids or [])
        if all_dead:
            dead = list_messages(session=session, model=model, status="dead", limit=1_000_000)
            ids += [row.id for row in dead if row.id is not None]
        for message_id in ids:
            if retry_message(session=session, model=model, message_id=message_id) is None:
                missing.append(message_id)
        typer.echo(f"{len(ids) - len(missing)} message(s) will be sent again")
    if missing:
        typer.echo(f"not found or already sent: {', '.join(map(str, missing))}", err=True)
        raise typer.Exit(1)

"""``joinedup guide …``: an admin's command line for the node's service catalogue.

A thin typer shell over ``node.guide.service`` (STYLE "The CLI"), for the same work
as ``/guide/services`` and the admin page: ``list``, ``add FILE`` (a service as
JSON, ``-`` for standard input), ``update ID`` (capacity, typical wait, or any
fields from a JSON file), ``remove ID``, ``show`` (the published version and ETag)
and ``sources`` (whose catalogues the guide holds and how fresh they are). Every
change is published as the next signed version, audited as an ``admin_change``
by the command line, and announced to the partners through the outbox (the
running node's worker delivers it) when the node has a registry.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import typer
from pydantic import ValidationError
from sqlmodel import Session

from joinedup.node_options import ConfigFile, DatabaseUrl, DataDir, OrgId, node_settings

guide_app = typer.Typer(no_args_is_help=True, help="Manage this node's service catalogue.")


@contextmanager
def _catalogue(
    org_id: str | None, data_dir: Path | None, database_url: str | None, config: Path | None
) -> Iterator[tuple[Session, Callable[[str], None]]]:
    """A session on the node's migrated database and a ``publish(change)`` that audits.

    Commits on success; any ``JoinedUpError`` becomes one line and exit status 1.
    """
    from federation.errors import JoinedUpError
    from federation.keys import MemberKeys
    from node.auth.flows import cli_request_id
    from node.db import make_engine, upgrade_database
    from node.federation.state import load_registry_holder
    from node.guide.flows import publish_change

    settings = node_settings(org_id, data_dir, database_url, config)
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    keys = MemberKeys.load_or_create(settings.data_dir)
    registry = None
    if settings.registry_path is not None and settings.authority_verify_key:
        registry = load_registry_holder(
            settings.registry_path, settings.authority_verify_key
        ).current()
    engine = make_engine(settings.effective_database_url)
    try:
        upgrade_database(engine)
        with Session(engine, expire_on_commit=False) as session:

            def publish(change: str) -> None:
                publication = publish_change(
                    session=session,
                    keys=keys,
                    org_id=settings.org_id,
                    registry=registry,
                    staff=None,
                    request_id=cli_request_id(),
                    change=change,
                )
                typer.echo(f"published catalogue version {publication.version}")

            yield session, publish
            session.commit()
    except JoinedUpError as exc:
        typer.echo(f"error: {exc.message}", err=True)
        raise typer.Exit(1) from None
    finally:
        engine.dispose()


def _read_json(path: str) -> Any:
    try:
        text = sys.stdin.read() if path == "-" else Path(path).read_text(encoding="utf-8")
        return json.loads(text)
    except (OSError, ValueError) as exc:
        typer.echo(f"error: cannot read JSON from {path}: {type(exc).__name__}", err=True)
        raise typer.Exit(2) from None


def _invalid(exc: ValidationError) -> typer.Exit:
    for error in exc.errors()[:5]:
        where = ".".join(str(p) for p in error["loc"]) or "service"
        typer.echo(f"invalid {where}: {error['msg']}", err=True)
    return typer.Exit(2)


@guide_app.command("list")
def list_services(
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object per line.")] = False,
    org_id: OrgId = None,
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
    config: ConfigFile = None,
) -> None:
    """List this organisation's services."""
    from node.guide.service import list_services as services

    with _catalogue(org_id, data_dir, database_url, config) as (session, _):
        for entry in services(session=session):
            if as_json:
                typer.echo(entry.model_dump_json())
            else:
                wait = f" ({entry.typical_wait_days} days)" if entry.typical_wait_days else ""
                cats = ",".join(entry.categories)
                typer.echo(f"{entry.id}\t{entry.capacity}{wait}\t{cats}\t{entry.name}")


@guide_app.command("add")
def add_service(
    file: Annotated[str, typer.Argument(help="The service as JSON ('-' for standard input).")],
    org_id: OrgId = None,
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
    config: ConfigFile = None,
) -> None:
    """Add a service from a JSON file and publish the catalogue."""
    from appkit.sqltypes import utcnow
    from federation.catalogue import ServiceEntry
    from node.guide.service import create_service

    try:
        entry = ServiceEntry.model_validate(_read_json(file))
    except ValidationError as exc:
        raise _invalid(exc) from None
    with _catalogue(org_id, data_dir, database_url, config) as (session, publish):
        create_service(session=session, entry=entry, now=utcnow())
        publish(f"service {entry.id} added")


@guide_app.command("update")
def update_service(
    service_id: Annotated[str, typer.Argument(help="The service's id.")],
    capacity: Annotated[str | None, typer.Option(help="open, waiting_list or closed.")] = None,
    wait_days: Annotated[
        int | None, typer.Option(min=0, max=3650, help="Typical wait in days.")
    ] = None,
    fields: Annotated[
        str | None, typer.Option("--fields", help="JSON file of fields to change ('-': stdin).")
    ] = None,
    org_id: OrgId = None,
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
    config: ConfigFile = None,
) -> None:
    """Change a service (e.g. its capacity) and publish the catalogue."""
    from appkit.sqltypes import utcnow
    from node.guide.schemas import ServiceUpdate
    from node.guide.service import update_service as update

    given: dict[str, Any] = _read_json(fields) if fields else {}
    if capacity is not None:
        given["capacity"] = capacity
    if wait_days is not None:
        given["typical_wait_days"] = wait_days
    try:
        changes = ServiceUpdate.model_validate(given).changes()
    except ValidationError as exc:
        raise _invalid(exc) from None
    with _catalogue(org_id, data_dir, database_url, config) as (session, publish):
        update(session=session, service_key=service_id, changes=changes, now=utcnow())
        publish(f"service {service_id} changed ({', '.join(sorted(changes)) or 'nothing'})")


@guide_app.command("remove")
def remove_service(
    service_id: Annotated[str, typer.Argument(help="The service's id.")],
    org_id: OrgId = None,
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
    config: ConfigFile = None,
) -> None:
    """Remove a service and publish the catalogue."""
    from node.guide.service import delete_service

    with _catalogue(org_id, data_dir, database_url, config) as (session, publish):
        delete_service(session=session, service_key=service_id)
        publish(f"service {service_id} removed")


@guide_app.command("show")
def show_catalogue(
    org_id: OrgId = None,
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
    config: ConfigFile = None,
) -> None:
    """The published catalogue's version, ETag and size."""
    from node.guide.service import current_publication, published_service_count

    with _catalogue(org_id, data_dir, database_url, config) as (session, _):
        publication = current_publication(session=session)
        if publication is None:
            typer.echo("no catalogue published yet (the node publishes one when it starts)")
            return
        count = published_service_count(publication)
        typer.echo(
            f"version {publication.version}, ETag {publication.etag}, {count} services, "
            f"published {publication.published_at.isoformat()}"
        )


@guide_app.command("sources")
def list_sources(
    org_id: OrgId = None,
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
    config: ConfigFile = None,
) -> None:
    """Whose catalogues this node's guide holds, their versions and freshness."""
    from node.guide.flows import list_sources as sources

    with _catalogue(org_id, data_dir, database_url, config) as (session, _):
        for row in sources(session=session, registry=None, me="", my_name="").data:
            checked = row.checked_at.isoformat() if row.checked_at else "never"
            state = f"STALE: {row.last_error}" if row.stale else "current"
            typer.echo(f"{row.org_id}\tversion {row.version}\tchecked {checked}\t{state}")

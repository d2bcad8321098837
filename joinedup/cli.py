"""The `joinedup` command line: a thin typer shell over the service functions.

Sub-apps: ``joinedup node ...`` (run a node, migrate its database, manage staff).
Other parts add their own sub-app with one ``app.add_typer(...)`` line.
"""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from joinedup.audit_cli import audit_app
from joinedup.consent_cli import consent_app
from joinedup.demo_cli import demo
from joinedup.federation_cli import keys_app, registry_app
from joinedup.guide_cli import guide_app
from joinedup.node_init_cli import init as init_node
from joinedup.node_init_cli import join_request
from joinedup.node_options import ConfigFile, DatabaseUrl, DataDir, OrgId
from joinedup.node_options import node_settings as _settings
from joinedup.outbox_cli import outbox_app

app = typer.Typer(no_args_is_help=True, help="joinedup: federated Customer Centric Action on Need")
node_app = typer.Typer(no_args_is_help=True, help="Run and administer an organisation's node.")
app.add_typer(node_app, name="node")
app.add_typer(keys_app, name="keys")
app.add_typer(registry_app, name="registry")
app.add_typer(consent_app, name="consent")
app.add_typer(audit_app, name="audit")
app.add_typer(outbox_app, name="outbox")
app.add_typer(guide_app, name="guide")
app.command("demo")(demo)
node_app.command("init")(init_node)
node_app.command("join-request")(join_request)


@node_app.command("migrate")
def migrate(
    org_id: OrgId = None,
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
    config: ConfigFile = None,
) -> None:
    """Upgrade the node database to the latest schema (every Alembic head)."""
    from node.db import upgrade_database

    settings = _settings(org_id, data_dir, database_url, config)
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    upgrade_database(settings.effective_database_url)
    typer.echo("database is at the latest schema")


@node_app.command("add-staff")
def add_staff(
    username: Annotated[str, typer.Option(help="Login name.")],
    role: Annotated[
        str,
        typer.Option(help="A staff role of the node's taxonomy, e.g. frontline or coordinator."),
    ],
    display_name: Annotated[str, typer.Option(help="Name shown to colleagues.")] = "",
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="Read the password from standard input.")
    ] = False,
    org_id: OrgId = None,
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
    config: ConfigFile = None,
) -> None:
    """Create a staff account on this node (the database is migrated first)."""
    from sqlmodel import Session

    from federation.errors import JoinedUpError
    from federation.vocabulary import load_vocabulary, vocabulary_in_force
    from node.auth.flows import add_staff as add_staff_audited
    from node.auth.flows import cli_request_id
    from node.db import make_engine, upgrade_database

    settings = _settings(org_id, data_dir, database_url, config)
    if password_stdin:
        password = sys.stdin.readline().rstrip("\n")
    else:
        password = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    engine = make_engine(settings.effective_database_url)
    try:
        upgrade_database(engine)
        # The role is checked against the node's own taxonomy, as the API does.
        with vocabulary_in_force(load_vocabulary(settings.policy_dir)), Session(engine) as session:
            # Audited as an admin_change by the command line (no staff actor).
            staff = add_staff_audited(
                session=session,
                org_id=settings.org_id,
                actor_staff=None,
                actor_role=None,
                request_id=cli_request_id(),
                username=username,
                password=password,
                role=role,
                display_name=display_name,
            )
            session.commit()
            typer.echo(f"created staff {staff.id} ({staff.username}, {staff.role})")
    except JoinedUpError as exc:
        typer.echo(f"error: {exc.message}", err=True)
        raise typer.Exit(1) from None
    finally:
        engine.dispose()


@node_app.command("serve")
def serve(
    org_id: OrgId = None,
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
    host: Annotated[str | None, typer.Option(help="Bind address (else settings).")] = None,
    port: Annotated[int | None, typer.Option(help="Port (else settings).")] = None,
    config: ConfigFile = None,
    workers: Annotated[
        int, typer.Option(min=1, max=64, help="Worker processes on the one port.")
    ] = 1,
) -> None:
    """Run the node with uvicorn (``--workers N``: N processes sharing the database)."""
    from appkit.header_limit import HTTP_PROTOCOL
    from appkit.serve import serve as serve_app
    from node.db import upgrade_database
    from node.main import create_app

    settings = _settings(org_id, data_dir, database_url, config)

    def migrate() -> None:
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        upgrade_database(settings.effective_database_url)

    # Workers read their settings from the environment: the resolved essentials go
    # there (a --config file's other settings must be in the environment too).
    serve_app(
        build_app=lambda: create_app(settings),
        factory="node.main:create_app_from_env",
        env_prefix="JOINEDUP_NODE_",
        overrides={
            "org_id": settings.org_id,
            "data_dir": settings.data_dir,
            "database_url": settings.database_url,
        },
        migrate=migrate,
        host=host or settings.host,
        port=port or settings.port,
        workers=workers,
        http=HTTP_PROTOCOL,  # 431 for oversized headers
    )

"""``joinedup node init`` and ``joinedup node join-request``: a thin shell over
``joinedup.node_setup``. Every answer can be a flag; the ones left out are asked for.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer
from pydantic import ValidationError

from federation.errors import JoinedUpError
from federation.vocabulary import load_vocabulary
from joinedup.node_setup import init_node, write_join_request
from node.config import NodeSettings


def _fail(message: str) -> typer.Exit:
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(1)


def _invalid(exc: ValidationError) -> typer.Exit:
    for error in exc.errors():
        loc = ".".join(str(p) for p in error["loc"]) or "settings"
        typer.echo(f"invalid {loc}: {error['msg']}", err=True)
    return typer.Exit(2)


def init(
    data_dir: Annotated[Path, typer.Option(help="Where the node keeps its keys, config and data.")],
    org_id: Annotated[
        str, typer.Option(prompt="Short id for your organisation (e.g. safe-harbour)")
    ],
    org_name: Annotated[str, typer.Option(prompt="Your organisation's name")],
    org_kind: Annotated[
        str,
        typer.Option(
            prompt=f"What kind of organisation ({', '.join(load_vocabulary().org_kinds)})"
        ),
    ],
    public_url: Annotated[
        str, typer.Option(prompt="The address other organisations reach your node at")
    ],
    admin_username: Annotated[str, typer.Option(prompt="Username of the first admin")],
    admin_password_stdin: Annotated[
        bool, typer.Option("--admin-password-stdin", help="Read the admin password from stdin.")
    ] = False,
    database_url: Annotated[
        str | None, typer.Option(help="PostgreSQL URL; default SQLite in the data directory.")
    ] = None,
    registry_url: Annotated[
        str | None, typer.Option(help="The federation's published registry (from the authority).")
    ] = None,
    authority_verify_key: Annotated[
        str | None, typer.Option(help="The federation authority's key (from the authority).")
    ] = None,
    linkage_key_file: Annotated[
        Path | None, typer.Option(help="File holding the federation's linkage secret.")
    ] = None,
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
    demo: Annotated[bool, typer.Option(help="Demo federation only: allow demo secrets.")] = False,
) -> None:
    """Set up a new organisation's node: keys, config file, database, first admin, join request."""
    if admin_password_stdin:
        password = sys.stdin.readline().rstrip("\n")
    else:
        password = typer.prompt("Admin password", hide_input=True, confirmation_prompt=True)
    linkage = None
    if linkage_key_file is not None:
        try:
            linkage = linkage_key_file.read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise _fail(f"cannot read {linkage_key_file}: {exc.strerror}") from None
    values = {
        "org_id": org_id,
        "org_name": org_name,
        "org_kind": org_kind,
        "public_url": public_url.rstrip("/"),
        "host": host,
        "port": port,
        "database_url": database_url,
        "registry_url": registry_url,
        "authority_verify_key": authority_verify_key,
        "linkage_key": linkage,
        "demo": demo or None,
    }
    try:
        setup = init_node(
            data_dir=data_dir,
            values=values,
            admin_username=admin_username,
            admin_password=password,
        )
    except ValidationError as exc:
        raise _invalid(exc) from None
    except JoinedUpError as exc:
        raise _fail(exc.message) from None
    typer.echo(f"node {setup.settings.org_id} set up in {setup.settings.data_dir}")
    typer.echo(f"  config file:   {setup.config_file}")
    typer.echo(f"  first admin:   {admin_username}")
    typer.echo(f"  join request:  {setup.join_request_file}")
    typer.echo("next: send the join request to your federation's authority, then run")
    typer.echo(f"  joinedup node serve --config {setup.config_file}")


def join_request(
    config: Annotated[Path, typer.Option("--config", help="The node's config file.")],
    after_rotation: Annotated[
        bool,
        typer.Option(help="After 'joinedup keys rotate': endorse the request with the old key."),
    ] = False,
) -> None:
    """Write a fresh signed join request for this node's keys."""
    try:
        settings = NodeSettings(_env_file=config)
        path = write_join_request(settings, after_rotation=after_rotation)
    except ValidationError as exc:
        raise _invalid(exc) from None
    except JoinedUpError as exc:
        raise _fail(exc.message) from None
    typer.echo(f"wrote {path}; send it to your federation's authority")

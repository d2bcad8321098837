"""Options every node command shares: where the node's settings come from.

``node_settings`` builds ``NodeSettings`` from the options given, the config file
(``--config``) and ``JOINEDUP_NODE_*`` variables, and turns invalid settings into
an exit with one line per problem.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from pydantic import ValidationError

from node.config import NodeSettings

DataDir = Annotated[
    Path | None, typer.Option(help="Node data directory (else JOINEDUP_NODE_DATA_DIR).")
]
OrgId = Annotated[str | None, typer.Option(help="Organisation id (else JOINEDUP_NODE_ORG_ID).")]
DatabaseUrl = Annotated[
    str | None, typer.Option(help="Database URL (else JOINEDUP_NODE_DATABASE_URL or SQLite).")
]
ConfigFile = Annotated[
    Path | None,
    typer.Option(
        "--config", help="The node's config file (written by 'node init'); variables override it."
    ),
]


def node_settings(
    org_id: str | None,
    data_dir: Path | None,
    database_url: str | None,
    config: Path | None = None,
) -> NodeSettings:

    overrides: dict[str, Any] = {
        k: v
        for k, v in {"org_id": org_id, "data_dir": data_dir, "database_url": database_url}.items()
        if v is not None
    }
    if config is not None:
        if not config.is_file():
            typer.echo(f"error: no config file at {config}", err=True)
            raise typer.Exit(2)
        overrides["_env_file"] = config
    try:
        return NodeSettings(**overrides)
    except ValidationError as exc:
        for error in exc.errors():
            loc = ".".join(str(p) for p in error["loc"]) or "settings"
            typer.echo(f"invalid setting {loc}: {error['msg']}", err=True)
        raise typer.Exit(2) from None

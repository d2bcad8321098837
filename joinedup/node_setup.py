"""``joinedup node init``: a new organisation's node, from nothing, in one command.

The one IT-minded volunteer at a small charity should not have to read the protocol
to join a federation. ``init_node`` does what joining needs on the organisation's
side, in order, refusing to overwrite an existing set-up:

1. checks the answers as the node will (``node.config.NodeSettings``), so a bad org
   id or URL is refused before anything is written;
2. makes the data directory (0700) and the node's Ed25519 / X25519 keys (0600,
   ``federation.keys``);
3. writes the config file the node reads (``node.env``, 0600: it may hold the
   federation's linkage secret), ``JOINEDUP_NODE_*`` lines;
4. migrates the database and creates the first admin account (audited, as
   ``joinedup node add-staff`` does);
5. writes the signed join request (``join-request.json``, public keys only;
   ``federation.join_request``) to send to the federation authority.

``write_join_request`` makes a fresh request later, e.g. after ``joinedup keys
rotate`` (then endorsed by the retired key, so the authority can swap the key).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlmodel import Session

from federation.errors import Conflict
from federation.join_request import make_join_request
from federation.keys import MemberKeys, load_retired_keys
from node.auth.flows import add_staff, cli_request_id
from node.config import NodeSettings
from node.db import make_engine, upgrade_database

__all__ = ["CONFIG_FILE", "JOIN_REQUEST_FILE", "NodeSetup", "init_node", "write_join_request"]

CONFIG_FILE = "node.env"
JOIN_REQUEST_FILE = "join-request.json"


@dataclass(frozen=True)
class NodeSetup:
    """What ``init_node`` made."""

    settings: NodeSettings
    config_file: Path
    join_request_file: Path
    kid: str
    admin_id: int


def _env_line(name: str, value: object) -> str:
    # Double-quoted, as python-dotenv reads it; the values never hold a newline.
    text = str(value).replace("\\", "\\\\").replace('"', '\\"')
    if "\n" in text:
        raise ValueError(f"{name} must be a single line")
    return f'JOINEDUP_NODE_{name.upper()}="{text}"'


def _write_private(path: Path, text: str) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(text)


def init_node(
    *,
    data_dir: Path,
    values: dict[str, Any],
    admin_username: str,
    admin_password: str,
) -> NodeSetup:
    """Set up a node in ``data_dir`` from ``values`` (NodeSettings fields); see the module doc."""
    data_dir = Path(data_dir).resolve()
    config_file = data_dir / CONFIG_FILE
    if config_file.exists():
        raise Conflict(f"{config_file} exists: this node is already set up")
    values = {k: v for k, v in values.items() if v not in (None, "")}
    settings = NodeSettings(data_dir=data_dir, **values)  # raises ValidationError
    data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    keys = MemberKeys.load_or_create(data_dir)
    engine = make_engine(settings.effective_database_url)
    try:
        upgrade_database(engine)
        with Session(engine) as session:
            admin = add_staff(
                session=session,
                org_id=settings.org_id,
                actor_staff=None,
                actor_role=None,
                request_id=cli_request_id(),
                username=admin_username,
                password=admin_password,
                role="admin",
                display_name=admin_username,
            )
            session.commit()
            assert admin.id is not None
            admin_id = admin.id
    finally:
        engine.dispose()
    lines = [_env_line("data_dir", data_dir)]
    lines += [_env_line(name, value) for name, value in values.items()]
    _write_private(config_file, "\n".join(lines) + "\n")
    request_file = write_join_request(settings)
    return NodeSetup(settings, config_file, request_file, keys.kid, admin_id)


def write_join_request(settings: NodeSettings, *, after_rotation: bool = False) -> Path:
    """Write ``join-request.json`` for the node's current keys; returns its path."""
    keys = MemberKeys.load_or_create(settings.data_dir)
    previous = None
    if after_rotation:
        retired = load_retired_keys(settings.data_dir)
        if not retired:
            raise Conflict("no retired keys: run 'joinedup keys rotate' first")
        previous = retired[0]
    signed = make_join_request(
        keys=keys,
        org_id=settings.org_id,
        name=settings.org_name or settings.org_id,
        kind=settings.org_kind,
        base_url=settings.public_url or f"http://{settings.host}:{settings.port}",
        previous=previous,
    )
    path = settings.data_dir / JOIN_REQUEST_FILE
    path.write_text(json.dumps(signed, indent=2) + "\n", encoding="utf-8")
    return path

"""A whole federation on one machine: keys, a signed registry and real server processes.

The demo (``joinedup demo``) and the end-to-end tests both need the same thing: a
consent service and N organisation nodes, each a separate uvicorn process on a
loopback port with its own data directory, keys and SQLite database, all listed
in one member registry signed by a federation authority key, and sharing one
linkage key. This module builds that layout on disk and runs the processes; it
imports nothing from ``node`` or ``consent`` (it only names their uvicorn
factories), so it stays usable from a test harness and from the CLI alike.

Layout under ``root``::

    authority/authority.key   federation authority Ed25519 seed (0600)
    linkage.key               the shared linkage secret (0600)
    registry.json             signed member registry (federation.registry)
    consent/                  the consent service's data dir (keys/, consent.db)
    <org_id>/                 each node's data dir (keys/, node.db)
    logs/<name>.log           each process's output

Preparing is idempotent: keys are loaded when present, and the registry is
re-signed with a higher version only when its content (URLs, keys) changed, so a
node that remembers the old version never sees a rollback.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import sqlalchemy as sa
from nacl.signing import SigningKey
from sqlalchemy.engine import make_url

from federation.keys import MemberKeys, b64decode, b64encode
from federation.registry import (
    CONSENT_SERVICE_ID,
    Member,
    load_registry,
    new_document,
    sign_registry,
)

__all__ = [
    "CONSENT_FACTORY",
    "LINKAGE_KEY_VERSION",
    "NODE_FACTORY",
    "LocalFederation",
    "MemberSpec",
    "ServerExitedEarly",
    "ServerProcess",
    "free_port",
    "launch_server",
    "prepare_federation",
    "run_federation",
    "wait_ready",
]

NODE_FACTORY = "node.main:create_app_from_env"
CONSENT_FACTORY = "consent.main:create_app_from_env"
FEDERATION_NAME = "joinedup-local"
LINKAGE_KEY_VERSION = 1


def free_port() -> int:
    """A loopback port nobody is listening on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass(frozen=True)
class MemberSpec:
    """One member to run: who it is and where it listens."""

    org_id: str
    name: str
    kind: str
    port: int
    host: str = "127.0.0.1"

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"


@dataclass(frozen=True)
class LocalFederation:
    """A prepared federation on disk: what each process needs to start."""

    root: Path
    authority_key: SigningKey
    linkage_secret: str
    registry_path: Path
    consent: MemberSpec
    nodes: tuple[MemberSpec, ...]
    keys: Mapping[str, MemberKeys]
    registry_version: int
    extra_env: Mapping[str, str] = field(default_factory=dict)

    @property
    def authority_verify_key_b64(self) -> str:
        return b64encode(bytes(self.authority_key.verify_key))

    @property
    def members(self) -> tuple[MemberSpec, ...]:
        return (self.consent, *self.nodes)

    def data_dir(self, org_id: str) -> Path:
        return self.root / org_id

    def node(self, org_id: str) -> MemberSpec:
        for spec in self.nodes:
            if spec.org_id == org_id:
                return spec
        raise KeyError(org_id)

    def node_env(self, org_id: str) -> dict[str, str]:
        """``JOINEDUP_NODE_*`` settings for one node (see node/config.py)."""
        spec = self.node(org_id)
        return {
            "JOINEDUP_NODE_ORG_ID": spec.org_id,
            "JOINEDUP_NODE_ORG_NAME": spec.name,
            "JOINEDUP_NODE_ORG_KIND": spec.kind,
            "JOINEDUP_NODE_DATA_DIR": str(self.data_dir(spec.org_id)),
            "JOINEDUP_NODE_HOST": spec.host,
            "JOINEDUP_NODE_PORT": str(spec.port),
            "JOINEDUP_NODE_PUBLIC_URL": spec.base_url,
            "JOINEDUP_NODE_DEMO": "true",
            "JOINEDUP_NODE_LINKAGE_KEY": self.linkage_secret,
            "JOINEDUP_NODE_LINKAGE_KEY_VERSION": str(LINKAGE_KEY_VERSION),
            "JOINEDUP_NODE_REGISTRY_PATH": str(self.registry_path),
            "JOINEDUP_NODE_AUTHORITY_VERIFY_KEY": self.authority_verify_key_b64,
            **self.extra_env,
        }

    def consent_env(self) -> dict[str, str]:
        """``JOINEDUP_CONSENT_*`` settings for the consent service (see consent/config.py)."""
        return {
            "JOINEDUP_CONSENT_DATA_DIR": str(self.data_dir(self.consent.org_id)),
            "JOINEDUP_CONSENT_HOST": self.consent.host,
            "JOINEDUP_CONSENT_PORT": str(self.consent.port),
            "JOINEDUP_CONSENT_PUBLIC_URL": self.consent.base_url,
            "JOINEDUP_CONSENT_DEMO": "true",
            "JOINEDUP_CONSENT_REGISTRY_PATH": str(self.registry_path),
            "JOINEDUP_CONSENT_AUTHORITY_VERIFY_KEY": self.authority_verify_key_b64,
            **self.extra_env,
        }

    def env_for(self, org_id: str) -> dict[str, str]:
        return self.consent_env() if org_id == self.consent.org_id else self.node_env(org_id)

    def factory_for(self, org_id: str) -> str:
        return CONSENT_FACTORY if org_id == self.consent.org_id else NODE_FACTORY


def _write_secret(path: Path, text: str) -> None:
    # Created 0600 from the start: no window in which the secret is world-readable.
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    tmp = path.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(text + "\n")
    os.replace(tmp, path)


def _authority_key(root: Path) -> SigningKey:
    path = root / "authority" / "authority.key"
    if path.exists():
        return SigningKey(b64decode(path.read_text().strip()))
    key = SigningKey.generate()
    _write_secret(path, b64encode(bytes(key)))
    return key


def _linkage_secret(root: Path) -> str:
    path = root / "linkage.key"
    if path.exists():
        return path.read_text().strip()
    secret = secrets.token_urlsafe(32)
    _write_secret(path, secret)
    return secret


def _member(spec: MemberSpec, keys: MemberKeys) -> Member:
    return Member(
        org_id=spec.org_id,
        name=spec.name,
        kind=spec.kind,
        base_url=spec.base_url,
        verify_keys=[keys.verify_key_b64],
        encryption_key=keys.public_key_b64,
    )


def _write_registry(path: Path, members: list[Member], authority_key: SigningKey) -> int:
    """Sign ``members`` into ``path`` unless it already says exactly that; the version."""
    version = 1
    if path.exists():
        current = load_registry(path, authority_key.verify_key)
        same = [m.model_dump() for m in current.members] == [m.model_dump() for m in members]
        if same:
            return current.version
        version = current.version + 1
    signed = sign_registry(new_document(FEDERATION_NAME, version, members), authority_key)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(signed, indent=2) + "\n")
    os.replace(tmp, path)
    return version


def prepare_federation(
    root: Path,
    nodes: Sequence[MemberSpec],
    *,
    consent_port: int | None = None,
    consent_name: str = "Consent service",
    extra_env: Mapping[str, str] | None = None,
) -> LocalFederation:
    """Create (or reuse) keys, linkage key and signed registry for ``nodes`` + consent."""
    root = Path(root).resolve()
    root.mkdir(parents=True, exist_ok=True)
    consent = MemberSpec(
        CONSENT_SERVICE_ID, consent_name, "consent_service", consent_port or free_port()
    )
    specs = (consent, *nodes)
    ids = [s.org_id for s in specs]
    if len(set(ids)) != len(ids):
        raise ValueError(f"duplicate org_id among {ids}")
    authority = _authority_key(root)
    linkage = _linkage_secret(root)
    keys = {s.org_id: MemberKeys.load_or_create(root / s.org_id) for s in specs}
    registry_path = root / "registry.json"
    version = _write_registry(registry_path, [_member(s, keys[s.org_id]) for s in specs], authority)
    return LocalFederation(
        root=root,
        authority_key=authority,
        linkage_secret=linkage,
        registry_path=registry_path,
        consent=consent,
        nodes=tuple(nodes),
        keys=keys,
        registry_version=version,
        extra_env=dict(extra_env or {}),
    )


@dataclass
class ServerProcess:
    """One running uvicorn process and where its output goes."""

    name: str
    port: int
    process: subprocess.Popen[bytes]
    log_path: Path
    env: dict[str, str] = field(default_factory=dict)
    host: str = "127.0.0.1"

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def running(self) -> bool:
        return self.process.poll() is None

    def terminate(self) -> None:
        """Ask the process to stop (SIGTERM: uvicorn shuts down gracefully)."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)

    def wait(self, timeout: float = 10.0) -> None:
        """Wait for exit; SIGKILL if it outlives ``timeout``."""
        try:
            self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=5)

    def stop(self, timeout: float = 10.0) -> None:
        self.terminate()
        self.wait(timeout)


def launch_server(
    name: str,
    factory: str,
    env: Mapping[str, str],
    port: int,
    log_dir: Path,
    *,
    host: str = "127.0.0.1",
) -> ServerProcess:
    """Start ``uvicorn --factory <factory>`` on ``host:port`` with ``env`` added."""
    log_dir.mkdir(parents=True, exist_ok=True)
    log_path = log_dir / f"{name}.log"
    full_env = {**os.environ, **env, "PYTHONUNBUFFERED": "1"}
    with log_path.open("ab") as handle:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "uvicorn",
                factory,
                "--factory",
                "--host",
                host,
                "--port",
                str(port),
                "--log-level",
                "warning",
                "--no-access-log",
                # 431 for oversized headers (appkit.header_limit).
                "--http",
                "appkit.header_limit:HeaderLimitedHttpToolsProtocol",
            ],
            env=full_env,
            stdout=handle,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            # Own process group: a Ctrl-C at the terminal reaches only the launcher,
            # which then stops the children in order (no double signals).
            start_new_session=True,
        )
    return ServerProcess(name, port, process, log_path, dict(env), host)


class ServerExitedEarly(RuntimeError):
    """A server process ended before it answered ``/health``; its log says why."""

    def __init__(self, name: str, log: str) -> None:
        super().__init__(f"{name} exited early:\n{log}")
        self.name = name
        self.log = log

    @property
    def port_in_use(self) -> bool:
        # uvicorn: "[Errno 98] error while attempting to bind on address ...: address
        # already in use". With free ports this is a race with another process.
        return "address already in use" in self.log.lower()


def wait_ready(server: ServerProcess, timeout: float = 60.0) -> None:
    """Poll ``/health`` until it answers 200; raise with the log if it never does."""
    deadline = time.monotonic() + timeout
    with httpx.Client(timeout=1.0) as client:
        while time.monotonic() < deadline:
            if server.process.poll() is not None:
                raise ServerExitedEarly(server.name, server.log())
            try:
                if client.get(f"{server.base_url}/health").status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
    raise RuntimeError(f"{server.name} did not become ready:\n{server.log()}")


def stop_all(servers: Mapping[str, ServerProcess], timeout: float = 10.0) -> None:
    """SIGTERM every process first, then wait for each: shutdowns overlap."""
    for server in servers.values():
        server.terminate()
    for server in servers.values():
        server.wait(timeout)


@contextlib.contextmanager
def run_federation(
    federation: LocalFederation, log_dir: Path | None = None, *, ready_timeout: float = 60.0
) -> Iterator[dict[str, ServerProcess]]:
    """Start the consent service and every node; wait for all; stop all on exit."""
    log_dir = log_dir or federation.root / "logs"
    servers: dict[str, ServerProcess] = {}
    try:
        for spec in federation.members:
            servers[spec.org_id] = launch_server(
                spec.org_id,
                federation.factory_for(spec.org_id),
                federation.env_for(spec.org_id),
                spec.port,
                log_dir,
                host=spec.host,
            )
        for server in servers.values():
            wait_ready(server, ready_timeout)
        yield servers
    finally:
        stop_all(servers)


@contextlib.contextmanager
def temporary_postgres_database(server_url: str, prefix: str = "joinedup_test") -> Iterator[str]:
    """Create a randomly named database on ``server_url``'s server; drop it on exit.

    For tests and benchmarks that need an empty PostgreSQL database of their own.
    """
    url = make_url(server_url)
    if url.drivername in ("postgresql", "postgres"):
        url = url.set(drivername="postgresql+psycopg")
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            connection.execute(sa.text(f'CREATE DATABASE "{name}"'))
        try:
            yield url.set(database=name).render_as_string(hide_password=False)
        finally:
            with admin.connect() as connection:
                connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    finally:
        admin.dispose()

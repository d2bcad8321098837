"""``joinedup audit ...``: verify, export and sign a node's audit log from the shell.

A thin typer shell over ``node.audit`` (STYLE "The CLI"): ``verify`` runs the same
full recomputation as ``POST /audit/verify`` (RFC 9162 Merkle tree, every signed
tree head checked against the node's current and retired keys) and exits 1 when the
log has been tampered with, naming the first bad entry; ``export`` writes CSV or
JSON Lines with the auditor API's filters; ``sign-head`` signs a tree head now;
``resume-signing`` clears a tamper alarm (``node.audit.guard``) once the log checks
out again.
They read the node's settings like the node does (options or ``JOINEDUP_NODE_*``).

``monitor`` is for anyone *outside* the node — a partner, an auditor, a customer's
advocate — who keeps its tree heads (RFC 9162 §8.2, monitors): it fetches the
latest signed head over HTTP, checks the signature with the node's published verify
key, demands a consistency proof from the last head it kept, and appends the new
head to its file. Exit 1 means the node rewrote history or signed something false.
"""

from __future__ import annotations

import datetime as dt
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import typer
from pydantic import ValidationError
from sqlmodel import Session

from federation.keys import MemberKeys
from node.audit.exceptions import AuditSigningHalted
from node.config import NodeSettings
from node.db import make_engine

audit_app = typer.Typer(no_args_is_help=True, help="Verify, export and sign the audit log.")

DataDir = Annotated[
    Path | None, typer.Option(help="Node data directory (else JOINEDUP_NODE_DATA_DIR).")
]
OrgId = Annotated[str | None, typer.Option(help="Organisation id (else JOINEDUP_NODE_ORG_ID).")]
DatabaseUrl = Annotated[
    str | None, typer.Option(help="Database URL (else JOINEDUP_NODE_DATABASE_URL or SQLite).")
]


def _settings(org_id: str | None, data_dir: Path | None, database_url: str | None) -> NodeSettings:
    overrides: dict[str, Any] = {
        k: v
        for k, v in {"org_id": org_id, "data_dir": data_dir, "database_url": database_url}.items()
        if v is not None
    }
    try:
        return NodeSettings(**overrides)
    except ValidationError as exc:
        for error in exc.errors():
            loc = ".".join(str(p) for p in error["loc"]) or "settings"
            typer.echo(f"invalid setting {loc}: {error['msg']}", err=True)
        raise typer.Exit(2) from None


@audit_app.command("verify")
def verify(
    org_id: OrgId = None,
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the full JSON report.")] = False,
) -> None:
    """Recompute the Merkle tree and check every signed tree head; exit 1 if tampered."""
    from federation.keys import MemberKeys, load_retired_keys
    from node.audit.verify import verify_log
    from node.db import make_engine

    settings = _settings(org_id, data_dir, database_url)
    key_dir = settings.data_dir / "keys"
    if not (key_dir / "signing.key").exists():
        typer.echo(f"no node keys under {key_dir}: cannot check signed tree heads", err=True)
        raise typer.Exit(2)
    keys = [MemberKeys.load(key_dir).verify_key]
    keys += [k.verify_key for k in load_retired_keys(settings.data_dir)]
    engine = make_engine(settings.effective_database_url)
    try:
        with engine.connect() as connection:
            report = verify_log(connection=connection, verify_keys=keys, org_id=settings.org_id)
    finally:
        engine.dispose()
    if as_json:
        typer.echo(report.model_dump_json(indent=2))
    else:
        typer.echo(
            f"{settings.org_id}: {report.entries_checked} entries, "
            f"{report.tree_heads_checked} signed tree heads checked, "
            f"tree size {report.tree_size}, root {report.root_hash}"
        )
        for problem in report.problems:
            where = f"entry {problem.index}" if problem.index is not None else "log"
            typer.echo(f"  {problem.kind} at {where}: {problem.detail}")
        if report.ok:
            typer.echo("OK: the log matches its stored tree and every signed tree head")
        else:
            typer.echo(f"TAMPERED: first bad entry {report.first_bad_index}")
    raise typer.Exit(0 if report.ok else 1)


@audit_app.command("export")
def export(
    output_format: Annotated[
        str, typer.Option("--format", help="csv or jsonl (canonical entries).")
    ] = "jsonl",
    output: Annotated[
        Path | None, typer.Option(help="File to write (default: standard output).")
    ] = None,
    since: Annotated[dt.datetime | None, typer.Option(help="Recorded at or after (UTC).")] = None,
    until: Annotated[dt.datetime | None, typer.Option(help="Recorded before (UTC).")] = None,
    subject_id: Annotated[str | None, typer.Option()] = None,
    actor_org: Annotated[str | None, typer.Option()] = None,
    actor_staff: Annotated[str | None, typer.Option()] = None,
    purpose: Annotated[str | None, typer.Option()] = None,
    decision: Annotated[str | None, typer.Option()] = None,
    kind: Annotated[str | None, typer.Option()] = None,
    request_id: Annotated[str | None, typer.Option()] = None,
    emergency: Annotated[bool | None, typer.Option("--emergency/--no-emergency")] = None,
    org_id: OrgId = None,
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Export entries in log order as CSV or JSON Lines, with the API's filters."""
    from node.audit.export import EXPORT_MEDIA_TYPES, export_stream
    from node.audit.queries import AuditScope
    from node.audit.schemas import AuditFilter
    from node.db import make_engine

    if output_format not in EXPORT_MEDIA_TYPES:
        typer.echo("--format must be csv or jsonl", err=True)
        raise typer.Exit(2)
    try:
        filters = AuditFilter(
            since=_utc(since),
            until=_utc(until),
            subject_id=subject_id,
            actor_org=actor_org,
            actor_staff=actor_staff,
            purpose=purpose,
            decision=decision,
            emergency=emergency,
            kind=kind,
            request_id=request_id,
        )
    except ValidationError as exc:
        typer.echo(f"invalid filter: {exc.errors()[0]['loc'][0]}", err=True)
        raise typer.Exit(2) from None
    settings = _settings(org_id, data_dir, database_url)
    engine = make_engine(settings.effective_database_url)
    handle = output.open("w", encoding="utf-8", newline="") if output else sys.stdout
    try:
        body = export_stream(engine, filters=filters, scope=AuditScope(), fmt=output_format)
        for chunk in body:
            handle.write(chunk)
    finally:
        if output:
            handle.close()
        engine.dispose()


@contextmanager
def _signing_session(
    org_id: str | None, data_dir: Path | None, database_url: str | None
) -> Iterator[tuple[NodeSettings, MemberKeys, Session]]:
    """The node's settings, keys and a session; a tamper alarm exits 1 with its message."""
    settings = _settings(org_id, data_dir, database_url)
    keys = MemberKeys.load_or_create(settings.data_dir)
    engine = make_engine(settings.effective_database_url)
    try:
        with Session(engine) as session:
            yield settings, keys, session
    except AuditSigningHalted as exc:
        typer.echo(f"SIGNING HALTED: {exc.message}", err=True)
        typer.echo(
            "see docs/operations.md, 'A tamper alarm': verify, restore the audit tables "
            "from a backup, then run 'joinedup audit resume-signing'",
            err=True,
        )
        raise typer.Exit(1) from None
    finally:
        engine.dispose()


@audit_app.command("sign-head")
def sign_head(
    org_id: OrgId = None, data_dir: DataDir = None, database_url: DatabaseUrl = None
) -> None:
    """Sign a tree head for the log as it is now and print it."""
    from node.audit.service import sign_tree_head_now

    with _signing_session(org_id, data_dir, database_url) as (settings, keys, session):
        record = sign_tree_head_now(session=session, keys=keys, org_id=settings.org_id)
        session.commit()
        typer.echo(f"tree size {record.tree_size}, root {record.root_hash}")
        typer.echo(record.jws)


@audit_app.command("resume-signing")
def resume_signing(
    note: Annotated[str, typer.Option(help="What was found and done (kept in the audit log).")],
    org_id: OrgId = None,
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
) -> None:
    """After a tamper alarm: re-check the log and, if it matches again, let signing resume.

    Exits 1 while the entries since the last signed head still do not match their
    hashes: restore the audit tables from a backup first (docs/operations.md).
    """
    from node.audit import service

    with _signing_session(org_id, data_dir, database_url) as (settings, keys, session):
        cleared = service.resume_signing(
            session=session, keys=keys, org_id=settings.org_id, operator_note=note
        )
        session.commit()
    if cleared:
        typer.echo(f"{settings.org_id}: the log checks out again; tree head signing resumed")
    else:
        typer.echo(f"{settings.org_id}: no tamper alarm was open; nothing to do")


def _utc(value: dt.datetime | None) -> dt.datetime | None:
    if value is None or value.tzinfo is not None:
        return value
    return value.replace(tzinfo=dt.UTC)


@audit_app.command("monitor")
def monitor(
    url: Annotated[str, typer.Option(help="The node's base URL.")],
    org_id: Annotated[str, typer.Option(help="The node's organisation id.")],
    verify_key: Annotated[str, typer.Option(help="The node's Ed25519 verify key (base64url).")],
    heads: Annotated[Path, typer.Option(help="File of kept tree heads (one JWS per line).")],
) -> None:
    """Fetch the latest signed tree head and prove it extends the last one kept."""
    import httpx
    from nacl.signing import VerifyKey

    from federation.errors import PeerSignatureInvalid
    from federation.keys import b64decode
    from federation.tree_head import check_consistency, verify_tree_head

    try:
        key = VerifyKey(b64decode(verify_key))
    except (ValueError, TypeError):
        typer.echo("--verify-key is not a base64url Ed25519 key", err=True)
        raise typer.Exit(2) from None
    kept = [line for line in heads.read_text().splitlines() if line] if heads.exists() else []
    base = url.rstrip("/")
    try:
        with httpx.Client(timeout=10) as client:
            latest = client.get(f"{base}/audit/tree-heads/latest")
            latest.raise_for_status()
            new = verify_tree_head(latest.json()["jws"], key, org_id=org_id)
            if kept:
                old = verify_tree_head(kept[-1], key, org_id=org_id)
                if new.tree_size < old.tree_size:
                    typer.echo(f"INCONSISTENT: the log shrank from {old.tree_size} entries")
                    raise typer.Exit(1)
                proof = client.get(
                    f"{base}/audit/proofs/consistency",
                    params={"first": old.tree_size, "second": new.tree_size},
                )
                proof.raise_for_status()
                if not check_consistency(old=old, new=new, proof=proof.json()["proof"]):
                    typer.echo(
                        f"INCONSISTENT: the log of {old.tree_size} entries is not a prefix "
                        f"of the log of {new.tree_size}"
                    )
                    raise typer.Exit(1)
    except PeerSignatureInvalid as exc:
        typer.echo(f"INVALID: {exc.message}")
        raise typer.Exit(1) from None
    except (httpx.HTTPError, KeyError, ValueError) as exc:
        typer.echo(f"could not reach the node: {type(exc).__name__}", err=True)
        raise typer.Exit(2) from None
    with heads.open("a", encoding="utf-8") as handle:
        handle.write(new.jws + "\n")
    typer.echo(f"OK: {org_id} tree size {new.tree_size}, root {new.root_hash}")

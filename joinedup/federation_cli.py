"""``joinedup keys ...`` and ``joinedup registry ...``: a thin shell over federation/.

Every command calls one function of ``federation.registry_admin`` / ``federation.keys``
and prints its result; errors become a one-line message and exit status 1. Private
keys are never printed.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from federation.errors import JoinedUpError, RegistryInvalid
from federation.join_request import JoinRequest, verify_join_request
from federation.keys import MemberKeys, rotate_keys
from federation.registry import Member
from federation.registry_admin import (
    add_member,
    add_member_from_request,
    authority_verify_key_b64,
    describe_keys,
    drop_old_keys,
    init_registry,
    member_from_keys,
    remove_member,
    sign_registry_file,
    verify_registry_file,
)

keys_app = typer.Typer(no_args_is_help=True, help="A member's Ed25519 / X25519 keys.")
registry_app = typer.Typer(no_args_is_help=True, help="The signed federation member registry.")

DataDir = Annotated[Path, typer.Option(help="The member's data directory (holds keys/).")]
RegistryFile = Annotated[Path, typer.Option("--registry", help="The registry JSON file.")]
AuthorityDir = Annotated[
    Path, typer.Option(help="Directory holding the authority key (authority.key, 0600).")
]


def _fail(exc: JoinedUpError) -> typer.Exit:
    typer.echo(f"error: {exc.message}", err=True)
    return typer.Exit(1)


@keys_app.command("show")
def show_keys(data_dir: DataDir) -> None:
    """Print the key id, verify key and public key (created on first use)."""
    info = describe_keys(MemberKeys.load_or_create(data_dir))
    typer.echo(f"kid:         {info.kid}")
    typer.echo(f"verify_key:  {info.verify_key}")
    typer.echo(f"public_key:  {info.public_key}")


@keys_app.command("rotate")
def rotate(data_dir: DataDir) -> None:
    """Retire the current keys (kept to open old answers) and create new ones."""
    old, new = rotate_keys(data_dir)
    typer.echo(f"retired kid {old.kid}; new kid {new.kid}")
    typer.echo(f"verify_key:  {new.verify_key_b64}")
    typer.echo(f"public_key:  {new.public_key_b64}")
    typer.echo("next: registry add-member --keep-old-key, then registry sign")


@registry_app.command("init")
def init(
    authority_dir: AuthorityDir,
    federation: Annotated[str, typer.Option(help="The federation's name.")],
    out: Annotated[Path, typer.Option(help="Where to write registry.json.")],
) -> None:
    """Create a signed, empty version 1 registry (and the authority key if missing)."""
    try:
        init_registry(authority_dir=authority_dir, federation=federation, out=out)
        key = authority_verify_key_b64(authority_dir)
    except JoinedUpError as exc:
        raise _fail(exc) from None
    typer.echo(f"wrote {out} (version 1)")
    typer.echo(f"authority verify key: {key}")


@registry_app.command("add-member")
def add(
    registry: RegistryFile,
    request: Annotated[
        Path | None,
        typer.Option(
            help="A signed join request (from 'joinedup node init'): checked, then added."
        ),
    ] = None,
    rotate: Annotated[
        bool,
        typer.Option("--rotate", help="With --request: a key rotation endorsed by the old key."),
    ] = False,
    org_id: Annotated[
        str | None, typer.Option(help="Without --request: the member's slug.")
    ] = None,
    name: Annotated[str | None, typer.Option(help="Without --request: display name.")] = None,
    kind: Annotated[
        str | None, typer.Option(help="Without --request: council, gp, ... or consent_service.")
    ] = None,
    base_url: Annotated[
        str | None, typer.Option(help="Without --request: where the member's node answers.")
    ] = None,
    data_dir: Annotated[
        Path | None, typer.Option(help="Without --request: the member's data dir (holds keys/).")
    ] = None,
    keep_old_key: Annotated[
        bool, typer.Option("--keep-old-key", help="Keep the previous verify keys (rotation).")
    ] = False,
) -> None:
    """Add a member from its signed join request (or its data dir); then run sign."""
    try:
        if request is not None:
            added = add_member_from_request(
                registry_path=registry, request=_read_join_request(request), rotate=rotate
            )
        else:
            added = _add_from_data_dir(
                registry, org_id, name, kind, base_url, data_dir, keep_old_key
            )
    except JoinedUpError as exc:
        raise _fail(exc) from None
    typer.echo(f"member {added.org_id}: {len(added.verify_keys)} verify key(s); now run sign")


def _read_join_request(path: Path) -> JoinRequest:
    try:
        signed = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise RegistryInvalid(f"cannot read join request {path}: {type(exc).__name__}") from exc
    return verify_join_request(signed)


def _add_from_data_dir(
    registry: Path,
    org_id: str | None,
    name: str | None,
    kind: str | None,
    base_url: str | None,
    data_dir: Path | None,
    keep_old_key: bool,
) -> Member:
    if not (org_id and name and kind and base_url and data_dir):
        raise RegistryInvalid(
            "give --request FILE, or all of --org-id, --name, --kind, --base-url, --data-dir"
        )
    key_dir = data_dir / "keys"
    if not (key_dir / "signing.key").exists():
        raise RegistryInvalid(f"no keys in {key_dir}; run 'joinedup keys show' first")
    member = member_from_keys(
        org_id=org_id, name=name, kind=kind, base_url=base_url, keys=MemberKeys.load(key_dir)
    )
    return add_member(registry_path=registry, member=member, keep_old_key=keep_old_key)


@registry_app.command("remove-member")
def remove(
    registry: RegistryFile,
    org_id: Annotated[str, typer.Option(help="The member's slug.")],
) -> None:
    """Remove a member (then run sign; nodes refuse it from their next poll)."""
    try:
        removed = remove_member(registry_path=registry, org_id=org_id)
    except JoinedUpError as exc:
        raise _fail(exc) from None
    typer.echo(f"removed member {removed.org_id}; now run sign")


@registry_app.command("drop-old-keys")
def drop_keys(
    registry: RegistryFile,
    org_id: Annotated[str, typer.Option(help="The member's slug.")],
) -> None:
    """End a key rotation's overlap: keep only the member's new key (then run sign)."""
    try:
        member = drop_old_keys(registry_path=registry, org_id=org_id)
    except JoinedUpError as exc:
        raise _fail(exc) from None
    typer.echo(f"member {member.org_id}: 1 verify key; now run sign")


@registry_app.command("serve")
def serve_registry(
    registry: RegistryFile,
    host: Annotated[str, typer.Option(help="Bind address.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port.")] = 8600,
) -> None:
    """Publish the signed registry at http://HOST:PORT/registry.json for nodes to poll."""
    import uvicorn

    from joinedup.registry_server import create_registry_server

    uvicorn.run(create_registry_server(registry), host=host, port=port, access_log=False)


@registry_app.command("sign")
def sign(registry: RegistryFile, authority_dir: AuthorityDir) -> None:
    """Sign the registry as the next version."""
    try:
        document = sign_registry_file(registry_path=registry, authority_dir=authority_dir)
    except JoinedUpError as exc:
        raise _fail(exc) from None
    typer.echo(f"signed {registry} version {document.version} ({len(document.members)} members)")


@registry_app.command("authority-key")
def show_authority_key(authority_dir: AuthorityDir) -> None:
    """Print the authority's verify key, which every member configures."""
    try:
        typer.echo(authority_verify_key_b64(authority_dir))
    except JoinedUpError as exc:
        raise _fail(exc) from None


@registry_app.command("verify")
def verify(
    registry: RegistryFile,
    authority_key: Annotated[str, typer.Option(help="Authority verify key (base64url).")],
) -> None:
    """Check the registry's signature; print its version and members."""
    try:
        checked = verify_registry_file(registry_path=registry, authority_key_b64=authority_key)
    except JoinedUpError as exc:
        raise _fail(exc) from None
    typer.echo(f"valid: version {checked.version}, federation {checked.document.federation}")
    for member in checked.members:
        typer.echo(f"  {member.org_id:<20} {member.kind:<20} {member.base_url}")

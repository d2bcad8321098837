"""Administering the signed member registry and a member's keys (behind ``joinedup registry``).

The federation authority keeps one Ed25519 key (``<authority-dir>/authority.key``,
mode 0600) and signs each registry version with it (``federation.registry``: the
readable document plus a compact JWS over it, RFC 7515). The life of a registry:

    init        version 1, no members, signed
    add-member  edit the document (a member's public keys from its signed join
                request, ``federation.join_request``, or read from its data dir);
                the file is left *unsigned*, so a node that reloads it keeps its last
                good registry until the authority signs again (fail closed)
    remove-member  drop a member from the document (unsigned until ``sign``, as above)
    sign        version + 1, new issue time, signed
    verify      check the signature under a given authority verify key

Key rotation: ``add-member --keep-old-key`` lists the member's new verify key first
and keeps the old ones, so requests signed with either verify during the overlap;
the next ``add-member`` without the flag drops them. No private key is ever printed.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from nacl.signing import SigningKey, VerifyKey
from pydantic import ValidationError

from federation.errors import Conflict, RegistryInvalid
from federation.join_request import JoinRequest
from federation.keys import MemberKeys, b64decode, b64encode, key_id
from federation.registry import (
    Member,
    Registry,
    RegistryDocument,
    new_document,
    sign_registry,
    verify_registry,
)

AUTHORITY_KEY_FILE = "authority.key"

__all__ = [
    "AUTHORITY_KEY_FILE",
    "KeyInfo",
    "add_member",
    "add_member_from_request",
    "authority_kid",
    "authority_verify_key_b64",
    "describe_keys",
    "init_registry",
    "load_authority_key",
    "load_or_create_authority_key",
    "member_from_keys",
    "read_registry_document",
    "remove_member",
    "drop_old_keys",
    "sign_registry_file",
    "verify_registry_file",
]


@dataclass(frozen=True)
class KeyInfo:
    """The public half of a member's keys, as published in the registry."""

    kid: str
    verify_key: str
    public_key: str


def describe_keys(keys: MemberKeys) -> KeyInfo:
    return KeyInfo(kid=keys.kid, verify_key=keys.verify_key_b64, public_key=keys.public_key_b64)


def _write_secret(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    tmp = path.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(text + "\n")
    os.replace(tmp, path)
    os.chmod(path, 0o600)


def _write_json(path: Path, document: dict[str, Any]) -> None:
    # Written whole and renamed: a node reloading the file never reads half of it.
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(json.dumps(document, indent=2) + "\n")
    os.replace(tmp, path)


def load_or_create_authority_key(authority_dir: Path) -> SigningKey:
    """The authority signing key, generated (0600) on first use."""
    path = Path(authority_dir) / AUTHORITY_KEY_FILE
    if path.exists():
        return SigningKey(b64decode(path.read_text().strip()))
    key = SigningKey.generate()
    _write_secret(path, b64encode(bytes(key)))
    return key


def load_authority_key(authority_dir: Path) -> SigningKey:
    path = Path(authority_dir) / AUTHORITY_KEY_FILE
    try:
        return SigningKey(b64decode(path.read_text().strip()))
    except (OSError, ValueError) as exc:
        raise RegistryInvalid(f"cannot read the authority key in {authority_dir}") from exc


def init_registry(*, authority_dir: Path, federation: str, out: Path) -> RegistryDocument:
    """A signed, empty version 1 registry at ``out``; refuses to overwrite one."""
    if Path(out).exists():
        raise RegistryInvalid(f"{out} already exists; edit it with add-member and sign")
    key = load_or_create_authority_key(authority_dir)
    document = new_document(federation, 1, [])
    _write_json(Path(out), sign_registry(document, key))
    return document


def read_registry_document(path: Path) -> RegistryDocument:
    """The readable document in a registry file, signed or not (for editing only)."""
    try:
        stored = json.loads(Path(path).read_text())
        return RegistryDocument.model_validate(stored["registry"])
    except (OSError, ValueError, KeyError, TypeError, ValidationError) as exc:
        raise RegistryInvalid(f"cannot read registry {path}: {type(exc).__name__}") from exc


def member_from_keys(
    *,
    org_id: str,
    name: str,
    kind: str,
    base_url: str,
    keys: MemberKeys,
    roles: list[str] | None = None,
) -> Member:
    try:
        return Member(
            org_id=org_id,
            name=name,
            kind=kind,
            base_url=base_url,
            verify_keys=[keys.verify_key_b64],
            encryption_key=keys.public_key_b64,
            roles=roles or [],
        )
    except ValidationError as exc:
        raise RegistryInvalid(f"member is invalid: {exc.errors()[0]['msg']}") from exc


def add_member(*, registry_path: Path, member: Member, keep_old_key: bool = False) -> Member:
    """Add or replace ``member``; the file is left unsigned until ``sign_registry_file``."""
    document = read_registry_document(registry_path)
    others = [m for m in document.members if m.org_id != member.org_id]
    previous = next((m for m in document.members if m.org_id == member.org_id), None)
    if keep_old_key and previous is not None:
        kept = [k for k in previous.verify_keys if k not in member.verify_keys]
        member = member.model_copy(update={"verify_keys": [*member.verify_keys, *kept]})
    updated = document.model_copy(update={"members": [*others, member]})
    _write_json(
        Path(registry_path), {"registry": updated.model_dump(mode="json"), "signature": None}
    )
    return member


def add_member_from_request(
    *, registry_path: Path, request: JoinRequest, rotate: bool = False
) -> Member:
    """List the member a verified join request describes; unsigned until ``sign``.

    Refuses (``Conflict``) an org id that is already a member, unless ``rotate`` and
    the request is endorsed by a key the registry lists for it (then the new verify
    key goes first and the old ones stay for the overlap), and any key that some
    member already uses: two members sharing a key could speak for each other.
    """
    document = read_registry_document(registry_path)
    existing = next((m for m in document.members if m.org_id == request.org_id), None)
    if existing is not None and not rotate:
        raise Conflict(f"{request.org_id!r} is already a member; choose another org id")
    if existing is None and rotate:
        raise RegistryInvalid(f"{request.org_id!r} is not a member, so it has no key to rotate")
    if rotate and (existing is None or request.previous_verify_key not in existing.verify_keys):
        raise RegistryInvalid("a key rotation must be endorsed by a key the registry lists")
    for member in document.members:
        used = {*member.verify_keys, member.encryption_key}
        if request.verify_key in used or request.encryption_key in used:
            raise Conflict(f"a key in the request is already registered (to {member.org_id!r})")
    try:
        member = Member(
            org_id=request.org_id,
            name=request.name,
            kind=request.kind,
            base_url=request.base_url,
            verify_keys=[request.verify_key],
            encryption_key=request.encryption_key,
        )
    except ValidationError as exc:
        raise RegistryInvalid(f"member is invalid: {exc.errors()[0]['msg']}") from exc
    return add_member(registry_path=registry_path, member=member, keep_old_key=rotate)


def remove_member(*, registry_path: Path, org_id: str) -> Member:
    """Drop ``org_id``; the file is left unsigned until ``sign_registry_file``."""
    document = read_registry_document(registry_path)
    removed = next((m for m in document.members if m.org_id == org_id), None)
    if removed is None:
        raise RegistryInvalid(f"{org_id!r} is not in the registry")
    kept = [m for m in document.members if m.org_id != org_id]
    updated = document.model_copy(update={"members": kept})
    _write_json(
        Path(registry_path), {"registry": updated.model_dump(mode="json"), "signature": None}
    )
    return removed


def drop_old_keys(*, registry_path: Path, org_id: str) -> Member:
    """End a rotation's overlap: keep only the member's current (first) verify key."""
    document = read_registry_document(registry_path)
    member = next((m for m in document.members if m.org_id == org_id), None)
    if member is None:
        raise RegistryInvalid(f"{org_id!r} is not in the registry")
    current = member.model_copy(update={"verify_keys": member.verify_keys[:1]})
    return add_member(registry_path=registry_path, member=current)


def sign_registry_file(*, registry_path: Path, authority_dir: Path) -> RegistryDocument:
    """Sign the registry as the next version (never reuses a version number)."""
    key = load_authority_key(authority_dir)
    document = read_registry_document(registry_path)
    signed_document = new_document(document.federation, document.version + 1, document.members)
    _write_json(Path(registry_path), sign_registry(signed_document, key))
    return signed_document


def verify_registry_file(*, registry_path: Path, authority_key_b64: str) -> Registry:
    """Check the registry file under the authority's verify key (base64url)."""
    try:
        raw = b64decode(authority_key_b64)
        authority = VerifyKey(raw)
    except (ValueError, TypeError) as exc:
        raise RegistryInvalid("authority key is not a base64url Ed25519 verify key") from exc
    try:
        stored = json.loads(Path(registry_path).read_text())
    except (OSError, ValueError) as exc:
        raise RegistryInvalid(f"cannot read registry: {type(exc).__name__}") from exc
    return verify_registry(stored, authority)


def authority_verify_key_b64(authority_dir: Path) -> str:
    return b64encode(bytes(load_authority_key(authority_dir).verify_key))


def authority_kid(authority_dir: Path) -> str:
    return key_id(load_authority_key(authority_dir).verify_key)

"""The signed member registry (DESIGN "Federation protocol").

The registry is a JSON document listing every member (org_id, display name, kind,
base URL, Ed25519 verify keys, X25519 encryption key, roles) and the consent
service, with a version number. It is signed by the federation authority key as a
compact JWS whose claims are the document itself, and stored as
``{"registry": {...}, "signature": "<JWS>"}`` so a person can read it and a
machine can check that the readable copy is exactly what was signed.

Rules a node enforces when it loads a registry:
- the signature verifies under the authority key it was configured with;
- the version is not lower than the one it already holds (no rollback);
- anyone not listed is refused.

Key rotation: a member lists several ``verify_keys`` (current first) across an
overlapping version, so requests signed with either key verify until the next
version drops the old one.
"""

from __future__ import annotations

import json
import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

from nacl.public import PublicKey
from nacl.signing import SigningKey, VerifyKey
from pydantic import AfterValidator, BaseModel, Field, ValidationError, field_validator

from federation.errors import PeerSignatureInvalid, RegistryInvalid, UnknownMember
from federation.jose import sign_jwt, verify_jwt
from federation.keys import b64decode
from federation.vocabulary import CONSENT_SERVICE_KIND, current_vocabulary
from federation.vocabulary import ORG_ID_PATTERN as ORG_ID_PATTERN  # its old home

REGISTRY_TYP = "joinedup-registry+jwt"
CONSENT_SERVICE_ID = "consent"


def _member_kind(kind: str) -> str:
    if kind not in current_vocabulary().member_kinds:
        known = ", ".join(current_vocabulary().member_kinds)
        raise ValueError(f"unknown member kind {kind!r}; expected one of: {known}")
    return kind


# An organisation kind of the vocabulary (policies/taxonomy/data.json), or the
# consent service; ORG_ID_PATTERN is defined with the vocabulary too.
MemberKind = Annotated[str, AfterValidator(_member_kind)]


def _decode_key(text: str) -> bytes:
    try:
        raw = b64decode(text)
    except (ValueError, TypeError) as exc:
        raise ValueError("key is not base64url") from exc
    if len(raw) != 32:
        raise ValueError("key must be 32 bytes")
    return raw


class Member(BaseModel):
    """One organisation (or the consent service) as the federation knows it."""

    org_id: str = Field(pattern=ORG_ID_PATTERN)
    name: str
    kind: MemberKind
    base_url: str
    verify_keys: list[str] = Field(min_length=1, description="b64url Ed25519, current first")
    encryption_key: str = Field(description="b64url X25519 public key")
    roles: list[str] = Field(default_factory=list)

    @field_validator("verify_keys")
    @classmethod
    def _check_verify_keys(cls, keys: list[str]) -> list[str]:
        for key in keys:
            _decode_key(key)
        return keys

    @field_validator("encryption_key")
    @classmethod
    def _check_encryption_key(cls, key: str) -> str:
        _decode_key(key)
        return key

    def verify_key_objects(self) -> list[VerifyKey]:
        return [VerifyKey(_decode_key(k)) for k in self.verify_keys]

    def public_key_object(self) -> PublicKey:
        return PublicKey(_decode_key(self.encryption_key))


class RegistryDocument(BaseModel):
    federation: str
    version: int = Field(ge=1)
    issued_at: datetime
    members: list[Member]

    @field_validator("members")
    @classmethod
    def _unique_ids(cls, members: list[Member]) -> list[Member]:
        ids = [m.org_id for m in members]
        if len(ids) != len(set(ids)):
            raise ValueError("duplicate org_id in registry")
        return members


class Registry:
    """A verified registry: lookups that refuse anyone not listed."""

    def __init__(self, document: RegistryDocument) -> None:
        self.document = document
        self._members = {m.org_id: m for m in document.members}
        self._verify_keys = {m.org_id: m.verify_key_objects() for m in document.members}
        self._public_keys = {m.org_id: m.public_key_object() for m in document.members}

    @property
    def version(self) -> int:
        return self.document.version

    @property
    def members(self) -> list[Member]:
        return list(self.document.members)

    def organisations(self) -> list[Member]:
        """Members that hold records (everyone but the consent service)."""
        return [m for m in self.document.members if m.kind != CONSENT_SERVICE_KIND]

    def has(self, org_id: str) -> bool:
        return org_id in self._members

    def member(self, org_id: str) -> Member:
        try:
            return self._members[org_id]
        except KeyError:
            raise UnknownMember(f"{org_id!r} is not a member of the federation") from None

    def verify_keys(self, org_id: str) -> list[VerifyKey]:
        self.member(org_id)
        return self._verify_keys[org_id]

    def public_key(self, org_id: str) -> PublicKey:
        self.member(org_id)
        return self._public_keys[org_id]

    @property
    def consent_service(self) -> Member:
        return self.member(CONSENT_SERVICE_ID)


def sign_registry(document: RegistryDocument, authority_key: SigningKey) -> dict[str, Any]:
    """The signed, storable form: readable document plus JWS over it."""
    claims = document.model_dump(mode="json")
    return {"registry": claims, "signature": sign_jwt(claims, authority_key, typ=REGISTRY_TYP)}


def verify_registry(signed: Any, authority_key: VerifyKey) -> Registry:
    """Check a signed registry; raise ``RegistryInvalid`` on any defect."""
    if not isinstance(signed, dict) or "signature" not in signed or "registry" not in signed:
        raise RegistryInvalid("registry file must hold 'registry' and 'signature'")
    try:
        claims = verify_jwt(str(signed["signature"]), authority_key, typ=REGISTRY_TYP)
    except PeerSignatureInvalid as exc:
        raise RegistryInvalid("registry signature does not verify") from exc
    if claims != signed["registry"]:
        raise RegistryInvalid("readable registry differs from the signed one")
    try:
        return Registry(RegistryDocument.model_validate(claims))
    except ValidationError as exc:
        raise RegistryInvalid(f"registry malformed: {exc.error_count()} error(s)") from exc


def load_registry(path: Path, authority_key: VerifyKey) -> Registry:
    try:
        signed = json.loads(Path(path).read_text())
    except (OSError, ValueError) as exc:
        raise RegistryInvalid(f"cannot read registry: {type(exc).__name__}") from exc
    return verify_registry(signed, authority_key)


class RegistryHolder:
    """The registry a running service uses: reloads on file change, never rolls back.

    ``current()`` is cheap (a stat at most once per ``check_interval_s``). A file that
    fails verification or carries a lower version is ignored and the last good
    registry stays in force (fail closed: nobody new is admitted).
    """

    def __init__(self, path: Path, authority_key: VerifyKey, check_interval_s: float = 1.0):
        self.path = Path(path)
        self.authority_key = authority_key
        self.check_interval_s = check_interval_s
        self._lock = threading.Lock()
        self._registry = load_registry(self.path, authority_key)
        self._mtime = self._stat()
        self._checked_at = time.monotonic()
        self.last_error: str | None = None

    def _stat(self) -> float:
        try:
            return self.path.stat().st_mtime_ns / 1e9
        except OSError:
            return 0.0

    def current(self) -> Registry:
        now = time.monotonic()
        if now - self._checked_at >= self.check_interval_s:
            with self._lock:
                self._checked_at = now
                mtime = self._stat()
                if mtime != self._mtime:
                    self._mtime = mtime
                    self._try_reload()
        return self._registry

    def accept(self, candidate: Registry) -> None:
        """Install a newer registry (e.g. pushed by the authority); refuse rollback."""
        if candidate.version < self._registry.version:
            raise RegistryInvalid(
                f"registry version {candidate.version} is older than {self._registry.version}"
            )
        self._registry = candidate

    def _try_reload(self) -> None:
        try:
            self.accept(load_registry(self.path, self.authority_key))
            self.last_error = None
        except RegistryInvalid as exc:
            self.last_error = exc.message


def new_document(federation: str, version: int, members: list[Member]) -> RegistryDocument:
    return RegistryDocument(
        federation=federation, version=version, issued_at=datetime.now(UTC), members=members
    )

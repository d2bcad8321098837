"""A member's long-lived keys: Ed25519 for signing, X25519 for sealed responses.

Keys are generated on first run into the member's data directory with file mode
0600 (DESIGN "Real components"). Rotation keeps the previous keys in
``keys/retired/`` so that responses sealed to an old key during a registry overlap
can still be opened; the registry announces which verify keys are current.
"""

from __future__ import annotations

import base64
import hashlib
import os
import time
from dataclasses import dataclass
from pathlib import Path

from nacl.public import PrivateKey, PublicKey
from nacl.signing import SigningKey, VerifyKey

SIGNING_FILE = "signing.key"
ENCRYPTION_FILE = "encryption.key"


def b64encode(raw: bytes) -> str:
    """Unpadded base64url, as JOSE (RFC 7515 §2) uses everywhere."""
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def b64decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def key_id(verify_key: VerifyKey) -> str:
    """Stable short id of a verify key (JWS ``kid``): first 16 hex of its SHA-256."""
    return hashlib.sha256(bytes(verify_key)).hexdigest()[:16]


@dataclass(frozen=True)
class MemberKeys:
    """A member's private keys and the public halves it publishes in the registry."""

    signing_key: SigningKey
    encryption_key: PrivateKey

    @property
    def verify_key(self) -> VerifyKey:
        return self.signing_key.verify_key

    @property
    def public_key(self) -> PublicKey:
        return self.encryption_key.public_key

    @property
    def kid(self) -> str:
        return key_id(self.verify_key)

    @property
    def verify_key_b64(self) -> str:
        return b64encode(bytes(self.verify_key))

    @property
    def public_key_b64(self) -> str:
        return b64encode(bytes(self.public_key))

    @classmethod
    def generate(cls) -> MemberKeys:
        return cls(SigningKey.generate(), PrivateKey.generate())

    @classmethod
    def load_or_create(cls, data_dir: Path) -> MemberKeys:
        """Load the keys under ``data_dir/keys``, generating them on first run."""
        key_dir = Path(data_dir) / "keys"
        if (key_dir / SIGNING_FILE).exists() and (key_dir / ENCRYPTION_FILE).exists():
            return cls.load(key_dir)
        keys = cls.generate()
        keys.save(key_dir)
        return keys

    @classmethod
    def load(cls, key_dir: Path) -> MemberKeys:
        return cls(
            SigningKey(b64decode((key_dir / SIGNING_FILE).read_text().strip())),
            PrivateKey(b64decode((key_dir / ENCRYPTION_FILE).read_text().strip())),
        )

    def save(self, key_dir: Path) -> None:
        key_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        _write_secret(key_dir / SIGNING_FILE, b64encode(bytes(self.signing_key)))
        _write_secret(key_dir / ENCRYPTION_FILE, b64encode(bytes(self.encryption_key)))


def rotate_keys(data_dir: Path) -> tuple[MemberKeys, MemberKeys]:
    """Retire the current keys and create new ones; returns (old, new)."""
    key_dir = Path(data_dir) / "keys"
    old = MemberKeys.load_or_create(data_dir)
    retired = key_dir / "retired" / f"{int(time.time())}-{old.kid}"
    old.save(retired)
    new = MemberKeys.generate()
    new.save(key_dir)
    return old, new


def load_retired_keys(data_dir: Path) -> list[MemberKeys]:
    """Keys retired by rotation, newest first: still able to open sealed answers."""
    retired_dir = Path(data_dir) / "keys" / "retired"
    if not retired_dir.is_dir():
        return []
    return [MemberKeys.load(path) for path in sorted(retired_dir.iterdir(), reverse=True)]


def _write_secret(path: Path, text: str) -> None:
    # Create with 0600 from the start: no window in which the key is world-readable.
    tmp = path.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(text + "\n")
    os.replace(tmp, path)
    os.chmod(path, 0o600)

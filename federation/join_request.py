"""A new member's join request: its details and public keys, signed with its own key.

``joinedup node init`` writes one; the organisation sends the file to the federation
authority, which checks it with ``joinedup registry add-member --request FILE``
(``federation.registry_admin.add_member_from_request``). The request is stored like
the registry, a readable copy beside a compact JWS over the same claims::

    {"request": {"org_id", "name", "kind", "base_url", "verify_key",
                 "encryption_key", "requested_at", "previous_verify_key"?},
     "signature": "<JWS by the key in verify_key, typ joinedup-join-request+jwt>",
     "endorsement": "<JWS over the same claims by previous_verify_key>"?}

The signature proves the sender holds the private half of the key it asks to have
listed (proof of possession), and that nobody changed the details on the way. It
does not prove *who* the sender is: the authority still confirms that out of band
(a phone call, a letter) before it signs the next registry. A key-rotation request
is also endorsed by the member's previous key, which the registry already lists, so
only the holder of the current key can swap it.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from nacl.signing import VerifyKey
from pydantic import BaseModel, Field, ValidationError

from federation.errors import PeerSignatureInvalid, RegistryInvalid
from federation.jose import sign_jwt, verify_jwt
from federation.keys import MemberKeys, b64decode
from federation.registry import MemberKind
from federation.vocabulary import ORG_ID_PATTERN

__all__ = ["JOIN_REQUEST_TYP", "JoinRequest", "make_join_request", "verify_join_request"]

JOIN_REQUEST_TYP = "joinedup-join-request+jwt"


class JoinRequest(BaseModel):
    """What a new member asks the authority to list."""

    org_id: str = Field(pattern=ORG_ID_PATTERN)
    name: str = Field(min_length=1, max_length=200)
    kind: MemberKind
    base_url: str = Field(pattern=r"^https?://[^\s]+$", max_length=500)
    verify_key: str
    encryption_key: str
    requested_at: datetime
    previous_verify_key: str | None = None


def make_join_request(
    *,
    keys: MemberKeys,
    org_id: str,
    name: str,
    kind: str,
    base_url: str,
    previous: MemberKeys | None = None,
) -> dict[str, Any]:
    """The signed, storable join request (endorsed by ``previous`` for a key rotation)."""
    request = JoinRequest(
        org_id=org_id,
        name=name,
        kind=kind,
        base_url=base_url.rstrip("/"),
        verify_key=keys.verify_key_b64,
        encryption_key=keys.public_key_b64,
        requested_at=datetime.now(UTC),
        previous_verify_key=previous.verify_key_b64 if previous is not None else None,
    )
    claims = request.model_dump(mode="json", exclude_none=True)
    signed: dict[str, Any] = {
        "request": claims,
        "signature": sign_jwt(claims, keys.signing_key, typ=JOIN_REQUEST_TYP),
    }
    if previous is not None:
        signed["endorsement"] = sign_jwt(claims, previous.signing_key, typ=JOIN_REQUEST_TYP)
    return signed


def _verify_key(text: str, what: str) -> VerifyKey:
    try:
        raw = b64decode(text)
        if len(raw) != 32:
            raise ValueError("not 32 bytes")
        return VerifyKey(raw)
    except (ValueError, TypeError) as exc:
        raise RegistryInvalid(f"join request: {what} is not a base64url Ed25519 key") from exc


def verify_join_request(signed: Any) -> JoinRequest:
    """The request once its signature (and any endorsement) verify; ``RegistryInvalid`` if not."""
    if not isinstance(signed, dict) or not isinstance(signed.get("request"), dict):
        raise RegistryInvalid("not a join request: it must hold 'request' and 'signature'")
    claims = signed["request"]
    try:
        request = JoinRequest.model_validate(claims)
        b64decode(request.encryption_key)
    except (ValidationError, ValueError, TypeError) as exc:
        raise RegistryInvalid("join request is malformed") from exc
    checks = [("signature", request.verify_key, "verify_key")]
    if request.previous_verify_key is not None:
        checks.append(("endorsement", request.previous_verify_key, "previous_verify_key"))
    for field, key_text, what in checks:
        try:
            verified = verify_jwt(
                str(signed.get(field, "")), _verify_key(key_text, what), typ=JOIN_REQUEST_TYP
            )
        except PeerSignatureInvalid as exc:
            raise RegistryInvalid(f"join request {field} does not verify") from exc
        if verified != claims:
            raise RegistryInvalid("join request: the readable copy differs from the signed one")
    return request

"""Compact JWS / JWT with Ed25519 (RFC 7515, RFC 7519, RFC 8037), via joserfc.

Every signed thing that crosses between members — requests, sealed responses,
consent tokens, revocation events, staff tokens — is a JWT signed with the
issuer's Ed25519 key. The algorithm is pinned to "Ed25519" on both sides (RFC 9864;
joserfc warns on the older "EdDSA" name), so no algorithm-confusion attack applies.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import OKPKey
from nacl.signing import SigningKey, VerifyKey

from federation.errors import PeerSignatureInvalid
from federation.keys import b64encode, key_id

ALGORITHM = "Ed25519"


@lru_cache(maxsize=256)
def _private_jwk(seed: bytes) -> OKPKey:
    signing = SigningKey(seed)
    return OKPKey.import_key(
        {
            "kty": "OKP",
            "crv": "Ed25519",
            "d": b64encode(seed),
            "x": b64encode(bytes(signing.verify_key)),
        }
    )


@lru_cache(maxsize=1024)
def _public_jwk(raw: bytes) -> OKPKey:
    return OKPKey.import_key({"kty": "OKP", "crv": "Ed25519", "x": b64encode(raw)})


def sign_jwt(claims: dict[str, Any], signing_key: SigningKey, *, typ: str = "JWT") -> str:
    """Sign ``claims`` as a compact JWT with the key's id in the header."""
    header = {"alg": ALGORITHM, "typ": typ, "kid": key_id(signing_key.verify_key)}
    return jwt.encode(header, claims, _private_jwk(bytes(signing_key)), algorithms=[ALGORITHM])


def read_unverified_header(token: str) -> dict[str, Any]:
    """The protected header, to pick a verify key; nothing in it is trusted yet."""
    from joserfc import jws

    try:
        return dict(jws.extract_compact(token.encode("ascii")).headers())
    except (JoseError, ValueError, UnicodeError, RecursionError) as exc:
        raise PeerSignatureInvalid("malformed JWS") from exc


def read_unverified_claims(token: str) -> dict[str, Any]:
    """The payload without checking the signature: only to learn the issuer."""
    import json

    from joserfc import jws

    try:
        payload = jws.extract_compact(token.encode("ascii")).payload
        claims = json.loads(payload)
    except (JoseError, ValueError, UnicodeError, RecursionError) as exc:
        raise PeerSignatureInvalid("malformed JWS") from exc
    if not isinstance(claims, dict):
        raise PeerSignatureInvalid("JWS payload is not a JSON object")
    return claims


def verify_jwt(
    token: str, verify_keys: list[VerifyKey] | VerifyKey, *, typ: str | None = None
) -> dict[str, Any]:
    """Verify the signature against any of ``verify_keys``; return the claims.

    Time claims are checked by the caller (``federation.envelope``), which knows the
    protocol's windows. Raises ``PeerSignatureInvalid`` on any failure.
    """
    keys = verify_keys if isinstance(verify_keys, list) else [verify_keys]
    if not isinstance(token, str) or token.count(".") != 2 or len(token) > 1_000_000:
        raise PeerSignatureInvalid("not a compact JWS")
    header = read_unverified_header(token)
    if header.get("alg") != ALGORITHM:
        raise PeerSignatureInvalid("unexpected JWS algorithm")
    if typ is not None and header.get("typ") != typ:
        raise PeerSignatureInvalid(f"expected a {typ} token")
    kid = header.get("kid")
    ordered = sorted(keys, key=lambda k: key_id(k) != kid)
    for verify_key in ordered:
        try:
            token_obj = jwt.decode(token, _public_jwk(bytes(verify_key)), algorithms=[ALGORITHM])
        except (JoseError, ValueError, RecursionError):
            continue
        claims = dict(token_obj.claims)
        return claims
    raise PeerSignatureInvalid("signature does not verify")

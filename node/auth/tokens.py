"""Staff bearer tokens: short-lived JWTs signed with the node's Ed25519 key (RFC 7519).

The node is both issuer and audience (``iss`` = ``aud`` = org id). Signatures go
through ``federation.jose`` (algorithm pinned to Ed25519); expiry, audience and
issuer are checked here because joserfc leaves claim validation to the caller.
Staff are named to partners only by ``pseudonym``: a keyed hash of the staff id
that is stable for this node and meaningless elsewhere.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from functools import lru_cache
from typing import Any

from nacl.signing import VerifyKey

from federation.errors import NotAuthenticated, PeerSignatureInvalid
from federation.jose import sign_jwt, verify_jwt
from federation.keys import MemberKeys

STAFF_TOKEN_TYP = "joinedup-staff+jwt"
# Tolerated clock difference for iat (the node checks its own tokens, so it is small).
CLOCK_SKEW_S = 30


def staff_pseudonym(staff_id: int, keys: MemberKeys) -> str:
    """16 hex chars of HMAC-SHA256(staff id) under a secret derived from the signing key."""
    secret = hashlib.sha256(b"joinedup-staff-pseudonym|" + bytes(keys.signing_key)).digest()
    return hmac.new(secret, str(staff_id).encode(), hashlib.sha256).hexdigest()[:16]


def issue_staff_token(
    *, staff_id: int, role: str, org_id: str, keys: MemberKeys, ttl_s: int, now: float | None = None
) -> str:
    """A signed access token for one staff member, valid for ``ttl_s`` seconds."""
    issued = int(now if now is not None else time.time())
    claims: dict[str, Any] = {
        "iss": org_id,
        "aud": org_id,
        "sub": str(staff_id),
        "role": role,
        "pseudonym": staff_pseudonym(staff_id, keys),
        "iat": issued,
        "exp": issued + ttl_s,
    }
    return sign_jwt(claims, keys.signing_key, typ=STAFF_TOKEN_TYP)


@lru_cache(maxsize=4096)
def _verified_claims(token: str, verify_key: bytes) -> tuple[tuple[str, Any], ...]:
    # A staff member sends the same token on every request for its lifetime; its
    # signature check (about half a millisecond through joserfc) is done once. Only
    # successes are cached (lru_cache does not cache exceptions), and time claims are
    # still checked on every call by the caller.
    return tuple(verify_jwt(token, VerifyKey(verify_key), typ=STAFF_TOKEN_TYP).items())


def verify_staff_token(
    token: str, *, org_id: str, keys: MemberKeys, now: float | None = None
) -> dict[str, Any]:
    """The claims of a valid token issued by this node; ``NotAuthenticated`` otherwise."""
    try:
        claims = dict(_verified_claims(token, bytes(keys.verify_key)))
    except PeerSignatureInvalid as exc:
        raise NotAuthenticated(f"bearer token rejected: {exc.message}") from exc
    current = now if now is not None else time.time()
    if claims.get("iss") != org_id or claims.get("aud") != org_id:
        raise NotAuthenticated("bearer token was not issued for this node")
    exp, iat = claims.get("exp"), claims.get("iat")
    if not isinstance(exp, int) or not isinstance(iat, int):
        raise NotAuthenticated("bearer token lacks iat/exp")
    if exp <= current:
        raise NotAuthenticated("bearer token has expired")
    if iat > current + CLOCK_SKEW_S:
        raise NotAuthenticated("bearer token issued in the future")
    sub = claims.get("sub")
    if not isinstance(sub, str) or not sub.isdigit() or not isinstance(claims.get("role"), str):
        raise NotAuthenticated("bearer token has malformed claims")
    return claims

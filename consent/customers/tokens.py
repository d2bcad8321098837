"""Customer bearer tokens: JWTs the consent service signs for its own customers.

Compact JWT (RFC 7519), Ed25519 (``federation.jose``), ``typ``
``joinedup-customer+jwt``, audience ``consent:customer`` so a customer token can
never pass for a member's request or a consent token (their ``typ`` differs too).
Short-lived (``customer_token_ttl_s``, default 15 min); the account is re-read on
every request, so deactivating it takes effect at once.
"""

from __future__ import annotations

import secrets
import time
from typing import Any

from federation.errors import NotAuthenticated, PeerSignatureInvalid
from federation.jose import sign_jwt, verify_jwt
from federation.keys import MemberKeys
from federation.registry import CONSENT_SERVICE_ID

CUSTOMER_TOKEN_TYP = "joinedup-customer+jwt"
CUSTOMER_AUDIENCE = "consent:customer"


def issue_customer_token(
    *, keys: MemberKeys, account_id: int, subject_id: str, ttl_s: int, now: float | None = None
) -> str:
    issued = int(now if now is not None else time.time())
    claims = {
        "iss": CONSENT_SERVICE_ID,
        "aud": CUSTOMER_AUDIENCE,
        "sub": subject_id,
        "uid": account_id,
        "iat": issued,
        "exp": issued + ttl_s,
        "jti": secrets.token_urlsafe(12),
    }
    return sign_jwt(claims, keys.signing_key, typ=CUSTOMER_TOKEN_TYP)


def verify_customer_token(
    token: str, *, keys: MemberKeys, now: float | None = None
) -> dict[str, Any]:
    """The claims of a valid customer token; ``NotAuthenticated`` otherwise."""
    try:
        claims = verify_jwt(token, [keys.verify_key], typ=CUSTOMER_TOKEN_TYP)
    except PeerSignatureInvalid as exc:
        raise NotAuthenticated("customer token invalid") from exc
    current = int(now if now is not None else time.time())
    if claims.get("iss") != CONSENT_SERVICE_ID or claims.get("aud") != CUSTOMER_AUDIENCE:
        raise NotAuthenticated("customer token invalid")
    if not isinstance(claims.get("uid"), int) or not isinstance(claims.get("sub"), str):
        raise NotAuthenticated("customer token invalid")
    exp, iat = claims.get("exp"), claims.get("iat")
    if not isinstance(exp, int) or not isinstance(iat, int) or exp < current or iat > current + 5:
        raise NotAuthenticated("customer token expired")
    return claims

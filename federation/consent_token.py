"""Consent tokens: the consent service's signed, short-lived statement of consent.

DESIGN "Consent": before a node asks partners for a joined-up view it obtains a
consent token from the consent service and attaches it to every partner request,
so each partner checks consent locally (offline) instead of calling the consent
service once per request. The binding wire contract is docs/protocol.md
("Consent service contract"); in short, a consent token is a compact JWT
(RFC 7519) signed with the consent service's Ed25519 key (RFC 8037), header
``typ`` ``joinedup-consent+jwt``, with claims:

    iss        "consent"              the consent service's org_id in the registry
    sub        subject_id             the customer, as enrolled
    aud        requester org_id       the node that asked for the token
    purpose    a vocabulary purpose   the purpose the token was asked for
    iat, exp   epoch seconds          exp = iat + max_age
    max_age    seconds                default 30, never above MAX_TOKEN_AGE_S
    jti        random id
    provisions [{consent_id, purposes, recipients, categories, actions, period_end}]

``provisions`` holds only the *active* provisions of the subject's consents (shaped
after HL7 FHIR R4 ``Consent.provision``) that name the requester as a recipient and
cover the purpose. An empty list is still a valid token: it says "no consent".

Revocation (DESIGN "Consent"): the consent service pushes every revocation to every
node, which keeps a ``RevocationSet``; a token that still lists a revoked provision
is refused even before it expires. A lost push cannot extend access beyond the
token's ``max_age``, because expiry is checked strictly (no leeway on ``exp``; the
clock-skew allowance only applies to an ``iat`` slightly in the future).
"""

from __future__ import annotations

import json
import re
import secrets
import threading
import time
from collections.abc import Iterable
from typing import Any

from nacl.exceptions import BadSignatureError
from nacl.signing import VerifyKey
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from federation.errors import ConsentInvalid
from federation.jose import ALGORITHM, sign_jwt
from federation.keys import MemberKeys, b64decode, key_id
from federation.registry import CONSENT_SERVICE_ID

__all__ = [
    "CONSENT_TOKEN_TYP",
    "DEFAULT_TOKEN_AGE_S",
    "MAX_TOKEN_AGE_S",
    "ConsentProvisionClaim",
    "ConsentTokenClaims",
    "RevocationSet",
    "consent_policy_input",
    "issue_consent_token",
    "verify_consent_token",
]

CONSENT_TOKEN_TYP = "joinedup-consent+jwt"
DEFAULT_TOKEN_AGE_S = 30
MAX_TOKEN_AGE_S = 300
CLOCK_SKEW_S = 5
MAX_TOKEN_CHARS = 100_000
_B64URL = re.compile(r"[A-Za-z0-9_-]*")


class ConsentProvisionClaim(BaseModel):
    """One active consent provision as a token carries it (FHIR R4 ``Consent.provision``)."""

    model_config = ConfigDict(extra="ignore")

    consent_id: str
    purposes: list[str]
    recipients: list[str]
    categories: list[str]
    actions: list[str]
    period_end: int | None = None


class ConsentTokenClaims(BaseModel):
    """A verified consent token, with the JWT claim names spelt out."""

    subject_id: str
    requester: str
    purpose: str
    issued_at: int
    expires_at: int
    max_age: int
    token_id: str
    provisions: list[ConsentProvisionClaim] = Field(default_factory=list)


def issue_consent_token(
    *,
    keys: MemberKeys,
    subject_id: str,
    requester: str,
    purpose: str,
    provisions: list[ConsentProvisionClaim],
    max_age_s: int = DEFAULT_TOKEN_AGE_S,
    now: float | None = None,
) -> str:
    """Sign a consent token for ``requester`` about ``subject_id`` and ``purpose``."""
    if not 0 < max_age_s <= MAX_TOKEN_AGE_S:
        raise ValueError(f"consent token max age must be within 1..{MAX_TOKEN_AGE_S} s")
    issued = int(now if now is not None else time.time())
    claims: dict[str, Any] = {
        "iss": CONSENT_SERVICE_ID,
        "sub": subject_id,
        "aud": requester,
        "purpose": purpose,
        "iat": issued,
        "exp": issued + max_age_s,
        "max_age": max_age_s,
        "jti": secrets.token_urlsafe(12),
        "provisions": [p.model_dump(mode="json") for p in provisions],
    }
    return sign_jwt(claims, keys.signing_key, typ=CONSENT_TOKEN_TYP)


class RevocationSet:
    """Consents revoked or narrowed, and as of when, as pushed by the consent service.

    A push says "consent X changed at T": revoked, or amended to give less. Every
    token issued at or before T that lists X is refused, whatever its expiry; a token
    issued after T reflects the change already (a revoked consent is listed by no
    later token). Thread-safe; in memory for speed, backed by the node's
    ``revocation`` table and reloaded at start-up, so a restart forgets nothing.
    """

    def __init__(self, items: Iterable[tuple[str, int]] = ()) -> None:
        self._lock = threading.Lock()
        self._revoked: dict[str, int] = dict(items)

    def add(self, consent_id: str, revoked_at: int) -> None:
        with self._lock:
            # Keep the latest change: it refuses every token an earlier one refuses.
            current = self._revoked.get(consent_id)
            if current is None or revoked_at > current:
                self._revoked[consent_id] = revoked_at

    def is_revoked(self, consent_id: str) -> bool:
        """Whether the consent was ever revoked or narrowed."""
        with self._lock:
            return consent_id in self._revoked

    def refuses(self, consent_id: str, issued_at: int) -> bool:
        """Whether a token issued at ``issued_at`` listing this consent is out of date."""
        with self._lock:
            changed = self._revoked.get(consent_id)
        return changed is not None and issued_at <= changed

    def revoked_at(self, consent_id: str) -> int | None:
        with self._lock:
            return self._revoked.get(consent_id)

    def __contains__(self, consent_id: object) -> bool:
        return isinstance(consent_id, str) and self.is_revoked(consent_id)

    def __len__(self) -> int:
        with self._lock:
            return len(self._revoked)


def _fail(reason: str) -> ConsentInvalid:
    return ConsentInvalid(f"consent token {reason}")


def _b64url(part: str) -> bytes:
    if not _B64URL.fullmatch(part):
        raise _fail("is not a compact JWS")
    return b64decode(part)


def _verify_compact_jws(token: object, verify_keys: list[VerifyKey]) -> dict[str, Any]:
    """RFC 7515 compact JWS verification, Ed25519 only (RFC 8037), straight on PyNaCl.

    A node verifies a consent token on every partner request, so this avoids the
    general-purpose JOSE library's parsing (about 5x the cost of the signature
    check). It is deliberately narrow: exactly three base64url parts, a header
    whose ``alg`` is "Ed25519" and ``typ`` is the consent token's, no ``crit``, and
    a signature over the exact ASCII of ``header.payload``. Tokens are made by
    ``federation.jose.sign_jwt`` (joserfc); the tests check the two agree.
    """
    if not isinstance(token, str) or len(token) > MAX_TOKEN_CHARS or token.count(".") != 2:
        raise _fail("is not a compact JWS")
    header_part, payload_part, signature_part = token.split(".")
    try:
        header = json.loads(_b64url(header_part))
        signature = _b64url(signature_part)
    except (ValueError, UnicodeDecodeError, RecursionError) as exc:
        raise _fail("is not a compact JWS") from exc
    if not isinstance(header, dict) or header.get("alg") != ALGORITHM or "crit" in header:
        raise _fail("does not verify: unexpected JWS header")
    if header.get("typ") != CONSENT_TOKEN_TYP:
        raise _fail(f"does not verify: expected a {CONSENT_TOKEN_TYP} token")
    signing_input = f"{header_part}.{payload_part}".encode("ascii")
    kid = header.get("kid")
    for verify_key in sorted(verify_keys, key=lambda k: key_id(k) != kid):
        try:
            verify_key.verify(signing_input, signature)
        except (BadSignatureError, ValueError, TypeError):
            continue
        try:
            claims = json.loads(_b64url(payload_part))
        except (ValueError, UnicodeDecodeError, RecursionError) as exc:
            raise _fail("payload is not JSON") from exc
        if not isinstance(claims, dict):
            raise _fail("payload is not a JSON object")
        return claims
    raise _fail("does not verify: signature does not verify")


def verify_consent_token(
    token: str,
    *,
    verify_keys: list[VerifyKey],
    requester: str,
    subject_id: str | None = None,
    purpose: str | None = None,
    revocations: RevocationSet | None = None,
    now: float | None = None,
    max_age_cap_s: int = MAX_TOKEN_AGE_S,
) -> ConsentTokenClaims:
    """Check a consent token offline; raise ``ConsentInvalid`` on any defect.

    ``verify_keys`` are the consent service's keys from the registry
    (``registry.verify_keys("consent")``). Provisions whose ``period_end`` has passed
    are dropped from the result rather than trusted (fail closed); a provision whose
    consent was revoked makes the whole token invalid, so a holder cannot keep using
    a token that revocation has overtaken.
    """
    raw = _verify_compact_jws(token, verify_keys)
    if raw.get("iss") != CONSENT_SERVICE_ID:
        raise _fail("was not issued by the consent service")
    try:
        claims = ConsentTokenClaims(
            subject_id=raw["sub"],
            requester=raw["aud"],
            purpose=raw["purpose"],
            issued_at=raw["iat"],
            expires_at=raw["exp"],
            max_age=raw["max_age"],
            token_id=raw["jti"],
            provisions=raw["provisions"],
        )
    except (KeyError, TypeError, ValidationError) as exc:
        raise _fail("claims are incomplete") from exc
    current = int(now if now is not None else time.time())
    cap = min(max_age_cap_s, MAX_TOKEN_AGE_S)
    lifetime = claims.expires_at - claims.issued_at
    if claims.requester != requester:
        raise _fail("was issued to another organisation")
    if subject_id is not None and claims.subject_id != subject_id:
        raise _fail("is about another subject")
    if purpose is not None and claims.purpose != purpose:
        raise _fail("was issued for another purpose")
    if lifetime <= 0 or lifetime != claims.max_age or lifetime > cap:
        raise _fail("lifetime is out of bounds")
    if claims.issued_at > current + CLOCK_SKEW_S:
        raise _fail("was issued in the future")
    # RFC 7519 4.1.4: the token must not be accepted on or after its expiry time.
    if claims.expires_at <= current:
        raise _fail("has expired")
    if revocations is not None:
        for provision in claims.provisions:
            if revocations.refuses(provision.consent_id, claims.issued_at):
                raise _fail("covers a consent revoked or narrowed since it was issued")
    # A consent's period end is exclusive, as where the consent service issues tokens.
    live = [p for p in claims.provisions if p.period_end is None or p.period_end > current]
    return claims.model_copy(update={"provisions": live})


def consent_policy_input(claims: ConsentTokenClaims | None) -> dict[str, Any]:
    """The ``consent`` part of a share-policy input (docs/protocol.md)."""
    if claims is None:
        return {"valid": False, "provisions": []}
    return {"valid": True, "provisions": [p.model_dump() for p in claims.provisions]}

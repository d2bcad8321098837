"""Signed requests and sealed, signed responses between members.

Wire format (docs/protocol.md has worked examples, and the binding contract for the
consent service's endpoints, consent tokens and revocation pushes: read it):

- A **request** is a compact JWT (RFC 7519) signed by the sending member with
  Ed25519, ``typ`` ``joinedup-request+jwt``, carrying ``iss`` (sender org_id),
  ``aud`` (receiver org_id), ``iat``, ``exp`` (at most 60 s after ``iat``), ``jti``
  (unique request id, checked against a replay cache at the receiver), ``act`` (what
  is asked: ``share``, ``link``, ``consent_token``, ``revoke``…) and ``body`` (the
  action's parameters, one ``federation.wire`` model per action), and optionally
  ``idempotency_key``: a message sent again (each attempt with a new ``jti``)
  carries the same key, and the receiver acts on a key once. It travels as
  ``{"request": "<JWT>"}`` in a POST body.
  A request whose sender stops waiting at a known moment (a view's fan-out) also
  carries ``deadline``: that moment as a NumericDate with millisecond precision.
  It is inside the signature, so nobody on the way can stretch it; a receiver
  still working on the request after it (frozen, overloaded) must not act on it —
  the sender has given up and would never receive what was released.
- A **response** that carries personal data is sealed to the requester's X25519
  key (libsodium sealed box) and then signed by the answering member:
  ``typ`` ``joinedup-response+jwt`` with ``iss``, ``aud``, ``iat``, ``exp``,
  ``request_id`` (the request's ``jti``) and ``sealed`` (base64url ciphertext of the
  JSON body). Only the requester can open it; anyone can check who sent it.
"""

from __future__ import annotations

import json
import math
import secrets
import threading
import time
from collections import OrderedDict
from typing import Any

from nacl.exceptions import CryptoError
from nacl.public import PublicKey, SealedBox
from pydantic import BaseModel, Field

from federation.errors import (
    PeerSignatureInvalid,
    RequestExpired,
    RequestReplayed,
    SealedResponseInvalid,
    UnknownMember,
    WrongAudience,
)
from federation.jose import read_unverified_claims, sign_jwt, verify_jwt
from federation.keys import MemberKeys, b64decode, b64encode
from federation.registry import Registry
from federation.wire import WireMessage

REQUEST_TYP = "joinedup-request+jwt"
RESPONSE_TYP = "joinedup-response+jwt"
MAX_REQUEST_LIFETIME_S = 60
CLOCK_SKEW_S = 5
DEADLINE_SKEW_S = 0.5


class VerifiedRequest(BaseModel):
    """A request whose signature, sender, audience, window and uniqueness all checked out."""

    issuer: str
    audience: str
    request_id: str
    issued_at: int
    expires_at: int
    action: str
    body: dict[str, Any]
    # When the sender stops waiting (epoch seconds), if it said; see ``past_deadline``.
    deadline: float | None = None

    def past_deadline(self, now: float | None = None) -> bool:
        """Whether the sender has given up on this request by ``now`` (default: the clock).

        ``DEADLINE_SKEW_S`` of grace: members' clocks are NTP-synchronised, so a
        larger difference is a fault; a request answered just inside the sender's
        deadline must not be refused for a few milliseconds of clock difference.
        """
        if self.deadline is None:
            return False
        current = now if now is not None else time.time()
        return current > self.deadline + DEADLINE_SKEW_S

    idempotency_key: str | None = Field(default=None, min_length=1, max_length=64)


def new_request_id() -> str:
    return secrets.token_urlsafe(18)


def sign_request(
    message: WireMessage,
    *,
    keys: MemberKeys,
    issuer: str,
    audience: str,
    ttl_s: int = 30,
    request_id: str | None = None,
    now: float | None = None,
    deadline: float | None = None,
    idempotency_key: str | None = None,
) -> str:
    """``message`` signed as a request for ``audience``; ``act`` is its model's action.

    ``deadline`` (epoch seconds) is when the sender stops waiting.
    """
    if not 0 < ttl_s <= MAX_REQUEST_LIFETIME_S:
        raise ValueError(f"request lifetime must be within 1..{MAX_REQUEST_LIFETIME_S} s")
    issued = int(now if now is not None else time.time())
    claims: dict[str, Any] = {
        "iss": issuer,
        "aud": audience,
        "iat": issued,
        "exp": issued + ttl_s,
        "jti": request_id or new_request_id(),
        "act": type(message).action,
        "body": message.body(),
    }
    if deadline is not None:
        if not math.isfinite(deadline):
            raise ValueError("a request deadline must be a finite time")
        claims["deadline"] = round(deadline, 3)
    if idempotency_key is not None:
        claims["idempotency_key"] = idempotency_key
    return sign_jwt(claims, keys.signing_key, typ=REQUEST_TYP)


class ReplayCache:
    """Request ids seen until their expiry; a second sighting is a replay.

    In memory and per process: a request's lifetime is at most 60 s, so a node that
    restarts refuses requests issued before its start (see ``not_before``).
    """

    def __init__(self, max_entries: int = 200_000) -> None:
        self._seen: OrderedDict[str, int] = OrderedDict()
        self._lock = threading.Lock()
        self.max_entries = max_entries
        self.not_before = int(time.time()) - CLOCK_SKEW_S

    def check_and_remember(self, request_id: str, expires_at: int, now: int) -> None:
        with self._lock:
            while self._seen:
                oldest_id, oldest_exp = next(iter(self._seen.items()))
                if oldest_exp >= now - CLOCK_SKEW_S and len(self._seen) < self.max_entries:
                    break
                self._seen.popitem(last=False)
            if request_id in self._seen:
                raise RequestReplayed("request id already used")
            self._seen[request_id] = expires_at


def verify_request(
    token: str,
    *,
    registry: Registry,
    audience: str,
    replay_cache: ReplayCache,
    expected_action: str | None = None,
    now: float | None = None,
) -> VerifiedRequest:
    """Check a signed request fully; raise a ``FederationError`` subclass otherwise."""
    unverified = read_unverified_claims(token)
    issuer = unverified.get("iss")
    if not isinstance(issuer, str):
        raise PeerSignatureInvalid("request has no issuer")
    if not registry.has(issuer):
        raise UnknownMember(f"{issuer!r} is not a member of the federation")
    claims = verify_jwt(token, registry.verify_keys(issuer), typ=REQUEST_TYP)
    current = int(now if now is not None else time.time())
    try:
        verified = VerifiedRequest(
            issuer=claims["iss"],
            audience=claims["aud"],
            request_id=claims["jti"],
            issued_at=claims["iat"],
            expires_at=claims["exp"],
            action=claims["act"],
            body=claims["body"],
            deadline=_deadline_claim(claims.get("deadline")),
            idempotency_key=claims.get("idempotency_key"),
        )
    except (KeyError, ValueError) as exc:
        raise PeerSignatureInvalid("request claims incomplete") from exc
    if verified.audience != audience:
        raise WrongAudience("request is addressed to another member")
    if expected_action is not None and verified.action != expected_action:
        raise PeerSignatureInvalid(f"expected a {expected_action!r} request")
    if verified.expires_at - verified.issued_at > MAX_REQUEST_LIFETIME_S:
        raise RequestExpired("request lifetime exceeds 60 s")
    if verified.issued_at > current + CLOCK_SKEW_S:
        raise RequestExpired("request issued in the future")
    if verified.expires_at < current - CLOCK_SKEW_S:
        raise RequestExpired("request expired")
    if verified.issued_at < replay_cache.not_before:
        raise RequestExpired("request predates this node's replay window")
    replay_cache.check_and_remember(verified.request_id, verified.expires_at, current)
    return verified


def _deadline_claim(value: Any) -> float | None:
    """The ``deadline`` claim as a finite number, or ``ValueError`` (a malformed request)."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ValueError("request deadline is not a finite number")
    return float(value)


def seal_response(
    *,
    keys: MemberKeys,
    issuer: str,
    audience: str,
    request_id: str,
    body: dict[str, Any],
    recipient_key: PublicKey,
    ttl_s: int = 60,
    now: float | None = None,
) -> str:
    """Seal ``body`` to the requester and sign the envelope."""
    plaintext = json.dumps(body, separators=(",", ":"), sort_keys=True).encode()
    issued = int(now if now is not None else time.time())
    claims: dict[str, Any] = {
        "iss": issuer,
        "aud": audience,
        "iat": issued,
        "exp": issued + ttl_s,
        "request_id": request_id,
        "sealed": b64encode(SealedBox(recipient_key).encrypt(plaintext)),
    }
    return sign_jwt(claims, keys.signing_key, typ=RESPONSE_TYP)


def open_response(
    token: str,
    *,
    registry: Registry,
    keys: MemberKeys,
    me: str,
    expected_issuer: str,
    request_id: str,
    retired_keys: list[MemberKeys] | None = None,
    now: float | None = None,
) -> dict[str, Any]:
    """Verify a partner's signed response and open its sealed body."""
    try:
        claims = verify_jwt(token, registry.verify_keys(expected_issuer), typ=RESPONSE_TYP)
    except (PeerSignatureInvalid, UnknownMember) as exc:
        raise SealedResponseInvalid(f"response signature invalid: {exc}") from exc
    current = int(now if now is not None else time.time())
    if claims.get("iss") != expected_issuer or claims.get("aud") != me:
        raise SealedResponseInvalid("response issuer or audience mismatch")
    if claims.get("request_id") != request_id:
        raise SealedResponseInvalid("response answers another request")
    if not isinstance(claims.get("exp"), int) or claims["exp"] < current - CLOCK_SKEW_S:
        raise SealedResponseInvalid("response expired")
    try:
        ciphertext = b64decode(str(claims["sealed"]))
    except (KeyError, ValueError) as exc:
        raise SealedResponseInvalid("response carries no sealed body") from exc
    for candidate in [keys, *(retired_keys or [])]:
        try:
            plaintext = SealedBox(candidate.encryption_key).decrypt(ciphertext)
        except CryptoError:
            continue
        body = json.loads(plaintext)
        if not isinstance(body, dict):
            raise SealedResponseInvalid("sealed body is not an object")
        return body
    raise SealedResponseInvalid("sealed body cannot be opened with this member's keys")

"""Staff sign-in through the organisation's OpenID Connect provider (OIDC Core 1.0).

Councils and the NHS sign their staff in through their own identity provider
(Entra ID, NHS CIS2, Keycloak). When ``oidc_issuer`` is configured the node is a
relying party of it, using the authorization code flow with PKCE (RFC 7636, S256
only, built with authlib's helpers) and a confidential client:

1. ``start``: a random ``state``, ``nonce`` and PKCE verifier are kept in a
   short-lived flow cookie signed with the node's own key (``FLOW_TYP``), and the
   browser is sent to the provider's ``authorization_endpoint`` (from discovery,
   OpenID Connect Discovery 1.0, cached ``METADATA_TTL_S``).
2. ``finish``: the ``state`` must match the cookie; the code is exchanged at the
   ``token_endpoint`` over the back channel with the verifier, and the ID token is
   validated here (OIDC Core §3.1.3.7): signature under the provider's JWKS (an
   unknown ``kid`` fetches the JWKS again, so key rotation needs no restart, at most
   once per ``oidc_jwks_refetch_s``), algorithm among ``ALGORITHMS`` (asymmetric only:
   never ``none`` or an HMAC the client secret could forge), ``iss`` exactly the
   configured issuer, ``aud`` containing the client id (and ``azp`` the client id
   when there are several audiences), ``exp`` in the future and ``iat`` not in it
   (``CLOCK_SKEW_S``), and ``nonce`` exactly the one sent.
3. The provider's groups claim is mapped to one joinedup role by the configured
   ``oidc_roles`` (first configured group the person holds wins); a person with no
   mapped group is refused, so a provider account alone never grants access.

Nothing here touches the database: ``node.auth.oidc_flows`` turns validated claims
into a staff account and the audit entry, after the network calls are over.
"""

from __future__ import annotations

import hmac
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx
from authlib.common.urls import add_params_to_uri
from authlib.oauth2.rfc7636 import create_s256_code_challenge
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet

from federation.errors import PeerSignatureInvalid
from federation.jose import sign_jwt, verify_jwt
from federation.keys import MemberKeys
from node.auth.exceptions import OidcSignInRefused
from node.config import NodeSettings

__all__ = [
    "ALGORITHMS",
    "OidcFlow",
    "OidcProvider",
    "map_role",
    "read_flow",
    "start_flow",
]

ALGORITHMS = ["RS256", "PS256", "ES256"]
CLOCK_SKEW_S = 60
FLOW_TYP = "joinedup-oidc-flow+jwt"
FLOW_TTL_S = 600
METADATA_TTL_S = 3600
CALLBACK_PATH = "/ui/login/oidc/callback"


@dataclass(frozen=True)
class OidcFlow:
    """What the browser carries between ``start`` and ``finish`` (signed, in a cookie)."""

    state: str
    nonce: str
    verifier: str
    next_page: str


def start_flow(
    *, keys: MemberKeys, next_page: str, now: float | None = None
) -> tuple[OidcFlow, str]:
    """A fresh flow and its signed cookie value."""
    flow = OidcFlow(
        state=secrets.token_urlsafe(24),
        nonce=secrets.token_urlsafe(24),
        verifier=secrets.token_urlsafe(48),  # 64 characters, within RFC 7636's 43-128
        next_page=next_page,
    )
    issued = int(now if now is not None else time.time())
    claims = {
        "state": flow.state,
        "nonce": flow.nonce,
        "verifier": flow.verifier,
        "next": flow.next_page,
        "iat": issued,
        "exp": issued + FLOW_TTL_S,
    }
    return flow, sign_jwt(claims, keys.signing_key, typ=FLOW_TYP)


def read_flow(
    cookie: str | None, *, state: str | None, keys: MemberKeys, now: float | None = None
) -> OidcFlow:
    """The flow this browser started, if ``state`` is its own; ``OidcSignInRefused`` if not."""
    if not cookie or not state:
        raise OidcSignInRefused("no sign-in in progress (missing flow cookie or state)")
    try:
        claims = verify_jwt(cookie, keys.verify_key, typ=FLOW_TYP)
    except PeerSignatureInvalid as exc:
        raise OidcSignInRefused("flow cookie does not verify") from exc
    exp = claims.get("exp")
    if not isinstance(exp, int) or exp <= (now if now is not None else time.time()):
        raise OidcSignInRefused("sign-in took too long (flow expired)")
    # The state binds the provider's answer to this browser (CSRF on the callback).
    if not hmac.compare_digest(str(claims.get("state", "")), state):
        raise OidcSignInRefused("state does not match")
    return OidcFlow(
        state=str(claims["state"]),
        nonce=str(claims["nonce"]),
        verifier=str(claims["verifier"]),
        next_page=str(claims.get("next", "")),
    )


def map_role(claims: dict[str, Any], *, groups_claim: str, roles: dict[str, str]) -> str:
    """The joinedup role for the provider's groups; ``OidcSignInRefused`` if none maps."""
    held = claims.get(groups_claim, [])
    if isinstance(held, str):
        held = [held]
    if not isinstance(held, list):
        held = []
    names = {g for g in held if isinstance(g, str)}
    for group, role in roles.items():
        if group in names:
            return role
    raise OidcSignInRefused("no group mapped to a role")


class OidcProvider:
    """One provider's discovery metadata and keys, fetched through the app's client."""

    def __init__(self, settings: NodeSettings, clock: Callable[[], float] = time.time) -> None:
        assert settings.oidc_issuer
        assert settings.oidc_client_id
        assert settings.oidc_client_secret
        self.issuer = settings.oidc_issuer.rstrip("/")
        self.client_id = settings.oidc_client_id
        self._secret = settings.oidc_client_secret
        self.refetch_s = settings.oidc_jwks_refetch_s
        self.clock = clock
        self._metadata: dict[str, Any] | None = None
        self._metadata_at = 0.0
        self._keys: KeySet | None = None
        self._keys_at = 0.0

    async def metadata(self, http: httpx.AsyncClient) -> dict[str, Any]:
        """The provider's discovery document, checked to name this issuer."""
        now = self.clock()
        if self._metadata is None or now - self._metadata_at > METADATA_TTL_S:
            document = await self._get_json(http, f"{self.issuer}/.well-known/openid-configuration")
            if document.get("issuer", "").rstrip("/") != self.issuer:
                raise OidcSignInRefused("discovery document names another issuer")
            for name in ("authorization_endpoint", "token_endpoint", "jwks_uri"):
                if not isinstance(document.get(name), str):
                    raise OidcSignInRefused(f"discovery document lacks {name}")
            self._metadata, self._metadata_at = document, now
        return self._metadata

    async def _get_json(self, http: httpx.AsyncClient, url: str) -> dict[str, Any]:
        try:
            response = await http.get(url, headers={"Accept": "application/json"})
            response.raise_for_status()
            document = response.json()
        except (httpx.HTTPError, ValueError) as exc:
            raise OidcSignInRefused(f"provider unreachable or answered badly ({url})") from exc
        if not isinstance(document, dict):
            raise OidcSignInRefused(f"provider answered badly ({url})")
        return document

    async def authorization_url(
        self, http: httpx.AsyncClient, *, flow: OidcFlow, redirect_uri: str
    ) -> str:
        """Where to send the browser to sign in (OIDC Core §3.1.2.1, RFC 7636 §4.3)."""
        endpoint = (await self.metadata(http))["authorization_endpoint"]
        params = [
            ("response_type", "code"),
            ("client_id", self.client_id),
            ("redirect_uri", redirect_uri),
            ("scope", "openid profile"),
            ("state", flow.state),
            ("nonce", flow.nonce),
            ("code_challenge", create_s256_code_challenge(flow.verifier)),
            ("code_challenge_method", "S256"),
        ]
        return str(add_params_to_uri(endpoint, params))

    async def end_session_url(self, http: httpx.AsyncClient, *, after: str) -> str | None:
        """RP-initiated logout at the provider, if it offers it; None otherwise."""
        try:
            endpoint = (await self.metadata(http)).get("end_session_endpoint")
        except OidcSignInRefused:
            return None
        if not isinstance(endpoint, str):
            return None
        params = [("client_id", self.client_id), ("post_logout_redirect_uri", after)]
        return str(add_params_to_uri(endpoint, params))

    async def exchange_code(
        self, http: httpx.AsyncClient, *, code: str, flow: OidcFlow, redirect_uri: str
    ) -> str:
        """The ID token for an authorization code (OIDC Core §3.1.3, client_secret_basic)."""
        endpoint = (await self.metadata(http))["token_endpoint"]
        data = {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": redirect_uri,
            "code_verifier": flow.verifier,
        }
        auth = httpx.BasicAuth(self.client_id, self._secret.get_secret_value())
        try:
            response = await http.post(endpoint, data=data, auth=auth)
            body = response.json()
        except (httpx.HTTPError, ValueError) as exc:
            raise OidcSignInRefused("token endpoint unreachable or answered badly") from exc
        if response.status_code != 200 or not isinstance(body, dict):
            error = body.get("error") if isinstance(body, dict) else None
            raise OidcSignInRefused(
                f"token endpoint refused the code ({error or response.status_code})"
            )
        id_token = body.get("id_token")
        if not isinstance(id_token, str):
            raise OidcSignInRefused("token endpoint returned no ID token")
        return id_token

    async def _key_set(self, http: httpx.AsyncClient, *, refresh: bool) -> KeySet:
        now = self.clock()
        if self._keys is None or (refresh and now - self._keys_at >= self.refetch_s):
            document = await self._get_json(http, (await self.metadata(http))["jwks_uri"])
            try:
                self._keys = KeySet.import_key_set(document)  # type: ignore[arg-type]
            except (JoseError, ValueError, TypeError, KeyError) as exc:
                raise OidcSignInRefused("provider's JWKS is malformed") from exc
            self._keys_at = now
        return self._keys

    async def validate_id_token(
        self, http: httpx.AsyncClient, id_token: str, *, nonce: str
    ) -> dict[str, Any]:
        """The ID token's claims once every check of OIDC Core §3.1.3.7 passes."""
        keys = await self._key_set(http, refresh=False)
        try:
            token = jwt.decode(id_token, keys, algorithms=ALGORITHMS)
        except (JoseError, ValueError) as first:
            # An unknown kid may be a rotated key: fetch the JWKS again, once.
            keys = await self._key_set(http, refresh=True)
            try:
                token = jwt.decode(id_token, keys, algorithms=ALGORITHMS)
            except (JoseError, ValueError) as exc:
                raise OidcSignInRefused("ID token signature does not verify") from exc
            del first
        claims = dict(token.claims)
        self._check_claims(claims, nonce=nonce)
        return claims

    def _check_claims(self, claims: dict[str, Any], *, nonce: str) -> None:
        now = self.clock()
        if str(claims.get("iss", "")).rstrip("/") != self.issuer:
            raise OidcSignInRefused("ID token from another issuer")
        audience = claims.get("aud")
        audiences = audience if isinstance(audience, list) else [audience]
        if self.client_id not in audiences:
            raise OidcSignInRefused("ID token for another audience")
        if len(audiences) > 1 and claims.get("azp") != self.client_id:
            raise OidcSignInRefused("ID token for another authorized party")
        exp, iat = claims.get("exp"), claims.get("iat")
        if not isinstance(exp, int | float) or not isinstance(iat, int | float):
            raise OidcSignInRefused("ID token lacks exp or iat")
        if exp <= now - CLOCK_SKEW_S:
            raise OidcSignInRefused("ID token expired")
        if iat > now + CLOCK_SKEW_S:
            raise OidcSignInRefused("ID token issued in the future")
        # The nonce binds the token to this browser's sign-in (replay of a stolen token).
        if not hmac.compare_digest(str(claims.get("nonce", "")), nonce):
            raise OidcSignInRefused("ID token nonce does not match")
        sub = claims.get("sub")
        if not isinstance(sub, str) or not 0 < len(sub) <= 255:
            raise OidcSignInRefused("ID token has no usable subject")

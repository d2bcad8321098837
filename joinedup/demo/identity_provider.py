"""A small OpenID Connect provider for the demo and the tests: never for production.

A council signs its staff in through its own identity provider (Entra ID, NHS CIS2,
Keycloak). To show that in the demo (``joinedup demo --with-identity-provider``) and
to test the node's sign-in against a real provider process on loopback, this module
is a real OpenID Connect provider (OpenID Connect Core 1.0, Discovery 1.0) built from
the JOSE library authlib ships (joserfc): discovery, the authorization code flow with
PKCE S256 (RFC 7636) and nothing weaker, client authentication at the token endpoint,
RS256 ID tokens with ``kid`` headers, a JWKS that can rotate, and an end-session
endpoint (RP-initiated logout). There are no passwords: the sign-in page lists the
demo people and you pick one (or a test passes ``login_hint``).

With ``JOINEDUP_IDP_TEST_CONTROLS=1`` two extra endpoints let a test make the
provider misbehave the way a misconfigured or hostile provider would, so the node's
refusals are tested against tokens that really come over the wire:

- ``POST /test/next-token`` ``{"aud": ..., "exp_offset_s": ..., "nonce": ...,
  "unpublished_key": true}`` changes the next ID token issued, once;
- ``POST /test/rotate-keys`` starts signing with a new key, published beside the
  old one in the JWKS (how providers roll keys).

Run it with ``uvicorn --factory joinedup.demo.identity_provider:create_provider_from_env``
and ``JOINEDUP_IDP_ISSUER``, ``JOINEDUP_IDP_CLIENT_ID``, ``JOINEDUP_IDP_CLIENT_SECRET``,
``JOINEDUP_IDP_REDIRECT_URIS`` (JSON list) and ``JOINEDUP_IDP_USERS`` (JSON list of
``{"sub", "name", "groups"}``).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import html
import json
import os
import secrets
import threading
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode, urlsplit

from joserfc import jwt
from joserfc.jwk import RSAKey
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import Route

ID_TOKEN_TTL_S = 300
CODE_TTL_S = 60


@dataclass
class ProviderUser:
    sub: str
    name: str
    groups: list[str]


@dataclass
class _Grant:
    user: ProviderUser
    redirect_uri: str
    code_challenge: str
    nonce: str | None
    expires_at: float


@dataclass
class IdentityProvider:
    """The provider's state: one client, its people, its signing keys and live codes."""

    issuer: str
    client_id: str
    client_secret: str
    redirect_uris: list[str]
    users: list[ProviderUser]
    test_controls: bool = False
    keys: list[RSAKey] = field(default_factory=list)
    codes: dict[str, _Grant] = field(default_factory=dict)
    next_token: dict[str, Any] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self) -> None:
        if not self.keys:
            self.keys.append(_new_key())

    def rotate(self) -> str:
        """Sign with a new key from now on; the old one stays published."""
        key = _new_key()
        with self.lock:
            self.keys.insert(0, key)
            del self.keys[2:]
        return str(key.kid)

    def jwks(self) -> dict[str, Any]:
        return {"keys": [key.as_dict(private=False, use="sig", alg="RS256") for key in self.keys]}

    def metadata(self) -> dict[str, Any]:
        return {
            "issuer": self.issuer,
            "authorization_endpoint": f"{self.issuer}/authorize",
            "token_endpoint": f"{self.issuer}/token",
            "jwks_uri": f"{self.issuer}/jwks",
            "end_session_endpoint": f"{self.issuer}/logout",
            "response_types_supported": ["code"],
            "grant_types_supported": ["authorization_code"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "code_challenge_methods_supported": ["S256"],
            "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
            "scopes_supported": ["openid", "profile", "groups"],
            "claims_supported": ["sub", "name", "groups", "nonce"],
        }

    def id_token(self, grant: _Grant, now: float) -> str:
        with self.lock:
            misbehave, self.next_token = self.next_token, {}
            key = self.keys[0]
        claims: dict[str, Any] = {
            "iss": self.issuer,
            "sub": grant.user.sub,
            "aud": misbehave.get("aud", self.client_id),
            "iat": int(now),
            "exp": int(now) + int(misbehave.get("exp_offset_s", ID_TOKEN_TTL_S)),
            "name": grant.user.name,
            "groups": grant.user.groups,
        }
        nonce = misbehave.get("nonce", grant.nonce)
        if nonce is not None:
            claims["nonce"] = nonce
        if misbehave.get("unpublished_key"):
            key = _new_key()
        header = {"alg": "RS256", "typ": "JWT", "kid": key.kid}
        return jwt.encode(header, claims, key, algorithms=["RS256"])


def _new_key() -> RSAKey:
    key = RSAKey.generate_key(2048, auto_kid=True)
    return key


def _error(status: int, error: str, description: str) -> JSONResponse:
    return JSONResponse({"error": error, "error_description": description}, status_code=status)


def _provider(request: Request) -> IdentityProvider:
    provider: IdentityProvider = request.app.state.provider
    return provider


async def read_metadata(request: Request) -> Response:
    return JSONResponse(_provider(request).metadata())


async def read_jwks(request: Request) -> Response:
    return JSONResponse(_provider(request).jwks())


async def authorize(request: Request) -> Response:
    provider = _provider(request)
    params = request.query_params
    redirect_uri = params.get("redirect_uri", "")
    if params.get("client_id") != provider.client_id or redirect_uri not in provider.redirect_uris:
        # Never redirect to an unregistered address (OAuth 2.0 Security BCP).
        return HTMLResponse("<p>Unknown application or return address.</p>", status_code=400)
    state = params.get("state", "")
    problem = _check_authorize(params)
    if problem:
        query = urlencode(
            {"error": "invalid_request", "error_description": problem, "state": state}
        )
        return RedirectResponse(f"{redirect_uri}?{query}", status_code=302)
    user = next((u for u in provider.users if u.sub == params.get("login_hint")), None)
    if user is None:
        return _choose_person_page(provider, params)
    code = secrets.token_urlsafe(32)
    with provider.lock:
        provider.codes[code] = _Grant(
            user=user,
            redirect_uri=redirect_uri,
            code_challenge=params["code_challenge"],
            nonce=params.get("nonce"),
            expires_at=time.time() + CODE_TTL_S,
        )
    return RedirectResponse(
        f"{redirect_uri}?{urlencode({'code': code, 'state': state})}", status_code=302
    )


def _check_authorize(params: Any) -> str:
    if params.get("response_type") != "code":
        return "only response_type=code is supported"
    if "openid" not in params.get("scope", "").split():
        return "scope must include openid"
    if params.get("code_challenge_method") != "S256" or not params.get("code_challenge"):
        return "PKCE with S256 is required"
    return ""


def _choose_person_page(provider: IdentityProvider, params: Any) -> Response:
    rows = []
    for user in provider.users:
        query = urlencode({**dict(params), "login_hint": user.sub})
        rows.append(
            f'<li><a href="/authorize?{html.escape(query)}">{html.escape(user.name)}</a></li>'
        )
    page = (
        '<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Sign in</title></head>'
        "<body><main><h1>Demo identity provider</h1>"
        "<p>This stands in for your organisation's sign-in. Choose who you are:</p>"
        f"<ul>{''.join(rows)}</ul></main></body></html>"
    )
    return HTMLResponse(page)


def _client_credentials(request: Request, form: Any) -> tuple[str, str]:
    header = request.headers.get("authorization", "")
    if header.lower().startswith("basic "):
        try:
            decoded = base64.b64decode(header[6:]).decode()
        except (ValueError, UnicodeDecodeError):
            return "", ""
        client_id, _, secret = decoded.partition(":")
        return client_id, secret
    return str(form.get("client_id", "")), str(form.get("client_secret", ""))


async def issue_token(request: Request) -> Response:
    provider = _provider(request)
    form = await request.form()
    client_id, secret = _client_credentials(request, form)
    if client_id != provider.client_id or not hmac.compare_digest(secret, provider.client_secret):
        return _error(401, "invalid_client", "client authentication failed")
    if form.get("grant_type") != "authorization_code":
        return _error(400, "unsupported_grant_type", "only authorization_code")
    with provider.lock:
        grant = provider.codes.pop(str(form.get("code", "")), None)  # single use
    now = time.time()
    if grant is None or grant.expires_at < now:
        return _error(400, "invalid_grant", "unknown or expired code")
    if form.get("redirect_uri") != grant.redirect_uri:
        return _error(400, "invalid_grant", "redirect_uri differs from the authorization request")
    verifier = str(form.get("code_verifier", ""))
    digest = hashlib.sha256(verifier.encode()).digest()
    challenge = base64.urlsafe_b64encode(digest).rstrip(b"=").decode()
    if not verifier or not hmac.compare_digest(challenge, grant.code_challenge):
        return _error(400, "invalid_grant", "PKCE verification failed")
    return JSONResponse(
        {
            "access_token": secrets.token_urlsafe(32),
            "token_type": "Bearer",
            "expires_in": ID_TOKEN_TTL_S,
            "id_token": provider.id_token(grant, now),
        },
        headers={"Cache-Control": "no-store"},
    )


async def read_health(request: Request) -> Response:
    return JSONResponse({"status": "ok"})


async def end_session(request: Request) -> Response:
    target = request.query_params.get("post_logout_redirect_uri", "")
    provider = _provider(request)
    # Back only to a registered application's own site (never an open redirect).
    allowed = {_origin(uri) for uri in provider.redirect_uris}
    if target and _origin(target) in allowed:
        return RedirectResponse(target, status_code=302)
    return HTMLResponse(
        '<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Signed out</title>'
        "</head><body><main><h1>You are signed out</h1></main></body></html>"
    )


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


async def set_next_token(request: Request) -> Response:
    provider = _provider(request)
    body = await request.json()
    allowed = {"aud", "exp_offset_s", "nonce", "unpublished_key"}
    if not isinstance(body, dict) or not set(body) <= allowed:
        return _error(400, "invalid_request", f"fields: {sorted(allowed)}")
    with provider.lock:
        provider.next_token = body
    return JSONResponse({"ok": True})


async def rotate_keys(request: Request) -> Response:
    return JSONResponse({"kid": _provider(request).rotate()})


def create_provider(provider: IdentityProvider) -> Starlette:
    routes = [
        Route("/.well-known/openid-configuration", read_metadata),
        Route("/jwks", read_jwks),
        Route("/authorize", authorize),
        Route("/token", issue_token, methods=["POST"]),
        Route("/logout", end_session),
        Route("/health", read_health),
    ]
    if provider.test_controls:
        routes += [
            Route("/test/next-token", set_next_token, methods=["POST"]),
            Route("/test/rotate-keys", rotate_keys, methods=["POST"]),
        ]
    app = Starlette(routes=routes)
    app.state.provider = provider
    return app


def provider_env(
    *,
    issuer: str,
    client_id: str,
    client_secret: str,
    redirect_uris: list[str],
    users: list[ProviderUser],
    test_controls: bool = False,
) -> dict[str, str]:
    """The ``JOINEDUP_IDP_*`` variables ``create_provider_from_env`` reads."""
    return {
        "JOINEDUP_IDP_ISSUER": issuer,
        "JOINEDUP_IDP_CLIENT_ID": client_id,
        "JOINEDUP_IDP_CLIENT_SECRET": client_secret,
        "JOINEDUP_IDP_REDIRECT_URIS": json.dumps(redirect_uris),
        "JOINEDUP_IDP_USERS": json.dumps([vars(user) for user in users]),
        "JOINEDUP_IDP_TEST_CONTROLS": "1" if test_controls else "0",
    }


def create_provider_from_env() -> Starlette:
    """The uvicorn factory: the provider described by ``JOINEDUP_IDP_*`` variables."""
    env = os.environ
    users = [ProviderUser(**u) for u in json.loads(env["JOINEDUP_IDP_USERS"])]
    return create_provider(
        IdentityProvider(
            issuer=env["JOINEDUP_IDP_ISSUER"].rstrip("/"),
            client_id=env["JOINEDUP_IDP_CLIENT_ID"],
            client_secret=env["JOINEDUP_IDP_CLIENT_SECRET"],
            redirect_uris=list(json.loads(env["JOINEDUP_IDP_REDIRECT_URIS"])),
            users=users,
            test_controls=env.get("JOINEDUP_IDP_TEST_CONTROLS") == "1",
        )
    )


DEMO_CLIENT_ID = "joinedup-demo"
DEMO_CLIENT_SECRET = "joinedup-demo-client-secret"  # the demo's only; a real one is issued


def demo_people(staff: list[tuple[str, str, str]]) -> list[ProviderUser]:
    """The provider's people for the demo: the scenario's staff, ``(username, role, name)``,
    each in a group ``joinedup-<role>``, and one person in no mapped group (to be refused)."""
    people = [
        ProviderUser(sub=username, name=name or username, groups=[f"joinedup-{role}"])
        for username, role, name in staff
    ]
    people.append(
        ProviderUser(sub="payroll", name="Pat Payroll (not a joinedup user)", groups=["payroll"])
    )
    return people


def demo_node_env(*, issuer: str, org_name: str, roles: list[str]) -> dict[str, str]:
    """The ``JOINEDUP_NODE_OIDC_*`` settings that make a demo node use this provider."""
    return {
        "JOINEDUP_NODE_OIDC_ISSUER": issuer,
        "JOINEDUP_NODE_OIDC_CLIENT_ID": DEMO_CLIENT_ID,
        "JOINEDUP_NODE_OIDC_CLIENT_SECRET": DEMO_CLIENT_SECRET,
        "JOINEDUP_NODE_OIDC_PROVIDER_NAME": f"{org_name} account",
        "JOINEDUP_NODE_OIDC_ROLES": json.dumps({f"joinedup-{role}": role for role in roles}),
    }

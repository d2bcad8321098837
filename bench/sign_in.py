"""Joining and signing in: what the node spends on the checks this work added.

Measured in-process, with real crypto, on this machine:

1. ``id_token_validate_us``: ``OidcProvider.validate_id_token`` for an RS256 ID
   token from a 2048-bit key, with the provider's JWKS already cached (the case at
   every sign-in but the first after a rotation): signature plus every claim check.
   The provider's discovery and JWKS come from an in-process httpx transport.
2. ``flow_cookie_us``: ``start_flow`` + ``read_flow`` (sign and check the node's
   own Ed25519 flow cookie), once per sign-in.
3. ``registry_verify_ms_200``: ``verify_registry`` for a signed registry of 200
   members: what a node spends when a poll brings a new version (a 304 costs
   nothing but the request).
4. ``pynacl_sign_us``: PyNaCl Ed25519 sign of 2 KB, the machine's speed reference
   for this run (21 µs on a normal moment, 43 µs on a slow one; ENVIRONMENT.md).

The last line printed is JSON with the figures (medians of five rounds).
"""

from __future__ import annotations

import asyncio
import json
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
from joserfc import jwt
from joserfc.jwk import RSAKey
from nacl.signing import SigningKey
from pydantic import SecretStr

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from federation.keys import MemberKeys  # noqa: E402
from federation.registry import Member, new_document, sign_registry, verify_registry  # noqa: E402
from node.auth.oidc import OidcProvider, read_flow, start_flow  # noqa: E402
from node.config import NodeSettings  # noqa: E402

ISSUER = "https://login.bench.example"
ROUNDS = 5


def _median_us(action: Callable[[], object], count: int) -> float:
    rounds = []
    for _ in range(ROUNDS):
        started = time.perf_counter()
        for _ in range(count):
            action()
        rounds.append((time.perf_counter() - started) / count * 1e6)
    return statistics.median(rounds)


def _provider_transport(key: RSAKey) -> httpx.MockTransport:
    def answer(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/openid-configuration"):
            return httpx.Response(
                200,
                json={
                    "issuer": ISSUER,
                    "authorization_endpoint": f"{ISSUER}/authorize",
                    "token_endpoint": f"{ISSUER}/token",
                    "jwks_uri": f"{ISSUER}/jwks",
                },
            )
        return httpx.Response(200, json={"keys": [key.as_dict(private=False)]})

    return httpx.MockTransport(answer)


def id_token_validate_us(count: int) -> float:
    key = RSAKey.generate_key(2048, auto_kid=True)
    settings = NodeSettings(
        org_id="council-a",
        data_dir=Path("/nonexistent"),
        oidc_issuer=ISSUER,
        oidc_client_id="joinedup",
        oidc_client_secret=SecretStr("a real client secret"),
        oidc_roles={"staff": "frontline"},
    )
    provider = OidcProvider(settings)
    now = int(time.time())
    claims = {"iss": ISSUER, "aud": "joinedup", "sub": "u-1", "iat": now, "exp": now + 300}
    token = jwt.encode(
        {"alg": "RS256", "kid": key.kid}, {**claims, "nonce": "n"}, key, algorithms=["RS256"]
    )

    async def run() -> float:
        async with httpx.AsyncClient(transport=_provider_transport(key)) as http:
            await provider.validate_id_token(http, token, nonce="n")  # fills the caches
            rounds = []
            for _ in range(ROUNDS):
                started = time.perf_counter()
                for _ in range(count):
                    await provider.validate_id_token(http, token, nonce="n")
                rounds.append((time.perf_counter() - started) / count * 1e6)
            return statistics.median(rounds)

    return asyncio.run(run())


def flow_cookie_us(count: int) -> float:
    keys = MemberKeys.generate()

    def round_trip() -> None:
        flow, cookie = start_flow(keys=keys, next_page="/ui/")
        read_flow(cookie, state=flow.state, keys=keys)

    return _median_us(round_trip, count)


def registry_verify_ms(members: int) -> float:
    authority = SigningKey.generate()
    listed = []
    for index in range(members):
        keys = MemberKeys.generate()
        listed.append(
            Member(
                org_id=f"member-{index:03d}",
                name=f"Member {index}",
                kind="charity",
                base_url=f"https://member-{index}.example",
                verify_keys=[keys.verify_key_b64],
                encryption_key=keys.public_key_b64,
            )
        )
    signed: dict[str, Any] = sign_registry(new_document("bench", 2, listed), authority)
    return _median_us(lambda: verify_registry(signed, authority.verify_key), 20) / 1000


def pynacl_sign_us() -> float:
    key, message = SigningKey.generate(), b"x" * 2048
    return _median_us(lambda: key.sign(message), 2000)


def main() -> None:
    figures = {
        "id_token_validate_us": round(id_token_validate_us(300), 1),
        "flow_cookie_us": round(flow_cookie_us(300), 1),
        "registry_verify_ms_200": round(registry_verify_ms(200), 2),
        "pynacl_sign_us": round(pynacl_sign_us(), 1),
    }
    print(json.dumps(figures))


if __name__ == "__main__":
    main()

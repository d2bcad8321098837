"""Deeply nested JSON on every ``/federation/*`` endpoint is a 400 (issue 12 item 2).

About 2 kB of ``[`` is enough for ``json.loads`` to raise ``RecursionError``, which
used to escape as an unauthenticated 500 with a hundred-line traceback in the log.
Sent to a real node and a real consent service, as a body and inside a JWS payload
(read before the signature is checked, to learn the issuer); both logs stay JSON
lines without a traceback.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator

import httpx
import pytest

from tests.fixtures.federation import RunningFederation, start_federation
from tests.fixtures.servers import RunningServer

pytestmark = pytest.mark.e2e

NESTED = "[" * 1_100 + "]" * 1_100


@pytest.fixture(scope="module")
def fed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningFederation]:
    with start_federation(
        tmp_path_factory.mktemp("fed"),
        [("council", "council", "Riverside Council")],
        consent=True,
        node_env={"council": {"JOINEDUP_NODE_LOG_JSON": "true"}},
    ) as running:
        yield running


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def hostile_bodies() -> list[str]:
    header = _b64(json.dumps({"alg": "Ed25519", "typ": "JWT"}).encode())
    token = f"{header}.{_b64(NESTED.encode())}.{_b64(b'x' * 64)}"
    return [NESTED, json.dumps({"request": NESTED}), json.dumps({"request": token})]


def assert_log_is_clean(server: RunningServer) -> None:
    text = server.log()
    assert "Traceback" not in text
    for line in text.splitlines():
        if line.strip():
            json.loads(line)  # every line is one JSON object


@pytest.mark.parametrize("member", ["council", "consent"])
def test_nested_json_on_every_federation_endpoint_is_a_400(
    fed: RunningFederation, member: str
) -> None:
    base = fed.url(member)
    paths = httpx.get(f"{base}/openapi.json", timeout=10).json()["paths"]
    posts = sorted(p for p, ops in paths.items() if p.startswith("/federation/") and "post" in ops)
    assert len(posts) >= 3
    for path in posts:
        for body in hostile_bodies():
            response = httpx.post(
                f"{base}{path}",
                content=body,
                headers={"content-type": "application/json"},
                timeout=10,
            )
            # The node: 400 malformed request. The consent service reads a malformed
            # JWS as a signature failure (401), as it always has: a 4xx either way.
            expected = {400} if member == "council" else {400, 401, 422}
            assert response.status_code in expected, (path, response.text)
            assert response.headers["content-type"].startswith("application/problem+json")
    assert_log_is_clean(fed.servers[member])

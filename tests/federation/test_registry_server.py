"""``joinedup.registry_server``: the published registry answers conditional GETs.

In-process (httpx's ASGI transport) for the HTTP details; tests/e2e/test_registry_feed.py
runs it as a real process that real nodes follow.
"""

from __future__ import annotations

import json
from pathlib import Path

import httpx

from federation.keys import MemberKeys
from federation.registry import new_document, sign_registry
from joinedup.registry_server import REGISTRY_PATH, create_registry_server

AUTHORITY = MemberKeys.generate().signing_key


def write(path: Path, version: int, *, signed: bool = True) -> None:
    document = sign_registry(new_document("riverside", version, []), AUTHORITY)
    if not signed:
        document["signature"] = None
    path.write_text(json.dumps(document))


def client_for(path: Path) -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=create_registry_server(path))
    return httpx.AsyncClient(transport=transport, base_url="http://registry.test")


async def test_etag_gives_304_until_the_registry_changes(tmp_path: Path) -> None:
    path = tmp_path / "registry.json"
    write(path, 1)
    async with client_for(path) as client:
        first = await client.get(REGISTRY_PATH)
        assert first.status_code == 200
        assert first.headers["cache-control"] == "no-cache"
        etag = first.headers["etag"]
        unchanged = await client.get(REGISTRY_PATH, headers={"If-None-Match": etag})
        assert unchanged.status_code == 304
        write(path, 2)
        changed = await client.get(REGISTRY_PATH, headers={"If-None-Match": etag})
        assert changed.status_code == 200
        assert changed.json()["registry"]["version"] == 2
        assert changed.headers["etag"] != etag


async def test_unsigned_or_missing_registry_is_not_published(tmp_path: Path) -> None:
    path = tmp_path / "registry.json"
    async with client_for(path) as client:
        assert (await client.get(REGISTRY_PATH)).status_code == 503
        write(path, 1, signed=False)
        answer = await client.get(REGISTRY_PATH)
        assert answer.status_code == 503
        assert answer.headers["content-type"].startswith("application/problem+json")


async def test_other_paths_and_methods_answer_problem_json(tmp_path: Path) -> None:
    async with client_for(tmp_path / "registry.json") as client:
        missing = await client.get("/members")
        assert missing.status_code == 404
        assert missing.headers["content-type"].startswith("application/problem+json")
        wrong = await client.post(REGISTRY_PATH)
        assert wrong.status_code == 405
        assert wrong.headers["content-type"].startswith("application/problem+json")

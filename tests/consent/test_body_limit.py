"""Oversized request bodies are refused with 413, declared or streamed without a length."""

from pathlib import Path

import httpx
import pytest

from consent.config import ConsentSettings
from consent.main import create_app

LIMIT = 2_048


@pytest.fixture
def app(tmp_path: Path):
    return create_app(ConsentSettings(data_dir=tmp_path, demo=True, max_body_bytes=LIMIT))


async def _post(app, **kwargs) -> httpx.Response:
    transport = httpx.ASGITransport(app=app)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=transport, base_url="http://consent.test") as client,
    ):
        return await client.post(
            "/federation/enrol", headers={"content-type": "application/json"}, **kwargs
        )


async def test_a_declared_oversized_body_is_a_413_problem(app):
    response = await _post(app, content=b'{"request": "' + b"a" * LIMIT + b'"}')
    assert response.status_code == 413
    assert response.headers["content-type"].startswith("application/problem+json")


async def test_a_chunked_body_without_a_length_is_cut_off_at_the_limit(app):
    async def chunks():
        for _ in range(1_000):  # 100 kB if nothing stopped it
            yield b"a" * 100

    response = await _post(app, content=chunks())
    assert response.status_code == 413
    assert response.headers["content-type"].startswith("application/problem+json")


async def test_a_small_body_is_read_normally(app):
    response = await _post(app, content=b'{"request": "a.b.c"}')
    assert response.status_code not in (413, 500)

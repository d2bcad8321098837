"""Admission control's bookkeeping (node/admission.py); e2e/test_load.py shows it live."""

from __future__ import annotations

import asyncio
import json

import pytest
from fastapi import FastAPI
from starlette.requests import Request

from node.admission import (
    FEDERATION_CLASS,
    OTHER_CLASS,
    VIEW_CLASS,
    Gate,
    busy_response,
    endpoint_class,
)
from node.config import NodeSettings


@pytest.mark.parametrize(
    ("method", "path", "expected"),
    [
        ("GET", "/health", None),
        ("POST", "/views", VIEW_CLASS),
        ("POST", "/ui/persons/7/view", VIEW_CLASS),
        ("GET", "/ui/persons/7/view", OTHER_CLASS),  # the form, not the fan-out
        ("POST", "/federation/share", FEDERATION_CLASS),
        ("POST", "/persons", OTHER_CLASS),
        ("GET", "/views", OTHER_CLASS),
    ],
)
def test_each_request_counts_against_its_endpoint_class(method, path, expected):
    assert endpoint_class(method, path) == expected


def test_a_full_gate_queues_as_many_again_then_refuses_at_once():
    async def scenario() -> list[bool]:
        gate = Gate(limit=1, queue_wait_s=30)
        assert await gate.enter()
        waiting = asyncio.ensure_future(gate.enter())
        await asyncio.sleep(0)  # let it join the queue
        refused = await gate.enter()  # the queue (as long as the limit) is full
        gate.leave()
        admitted = await waiting
        gate.leave()
        return [refused, admitted]

    assert asyncio.run(scenario()) == [False, True]


def test_a_gate_without_a_queue_refuses_when_full():
    async def scenario() -> bool:
        gate = Gate(limit=1, queue_wait_s=0)
        assert await gate.enter()
        return await gate.enter()

    assert asyncio.run(scenario()) is False


def test_a_queued_request_gives_up_after_the_queue_wait():
    async def scenario() -> bool:
        gate = Gate(limit=1, queue_wait_s=0.01)
        assert await gate.enter()
        return await gate.enter()  # nobody leaves

    assert asyncio.run(scenario()) is False


def _request(path: str) -> Request:
    app = FastAPI()
    app.state.settings = NodeSettings(
        org_id="council", data_dir="/nonexistent", org_name="Riverside"
    )
    scope = {
        "type": "http",
        "method": "POST",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "headers": [(b"host", b"node.example")],
        "scheme": "http",
        "server": ("node.example", 80),
        "app": app,
    }
    return Request(scope)


def test_refused_api_request_gets_problem_json_with_retry_after():
    response = busy_response(_request("/views"), retry_after_s=2)
    assert response.status_code == 503
    assert response.headers["content-type"] == "application/problem+json"
    assert response.headers["retry-after"] == "2"
    assert json.loads(bytes(response.body))["type"].endswith("/node-busy")


def test_refused_staff_page_gets_a_page_in_plain_words():
    response = busy_response(_request("/ui/persons/7/view"), retry_after_s=1)
    assert response.status_code == 503
    assert response.headers["content-type"].startswith("text/html")
    assert response.headers["retry-after"] == "1"
    page = bytes(response.body).decode()
    assert "This service is busy" in page
    assert "try again" in page
    assert "node-busy" not in page  # no codes for people

"""Admission control's bookkeeping (node/admission.py); e2e/test_load.py shows it live."""

from __future__ import annotations

import asyncio

import pytest

from node.admission import FEDERATION_CLASS, OTHER_CLASS, VIEW_CLASS, Gate, endpoint_class


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

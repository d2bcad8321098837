"""Layout of the circle of need: every need and every silent source gets a place."""

from __future__ import annotations

import math

from node.web.circle import CX, CY, RING_R, GapPoint, NeedPoint, layout


def need(ref: str, org: str = "a", cls: str = "org-0") -> NeedPoint:
    return NeedPoint(ref, org, org.upper(), cls, "housing", "open", "high")


def test_empty_view_draws_no_nodes() -> None:
    circle = layout([])
    assert circle.points == []
    assert circle.segments == []


def test_a_single_need_gets_a_full_ring_segment() -> None:
    circle = layout([("a", "org-0", [need("a:need:1")])])
    assert len(circle.needs) == 1
    assert circle.segments[0].full
    point = circle.points[0]
    assert math.isclose(point.x, CX, abs_tol=0.1)
    assert math.isclose(point.y, CY - RING_R, abs_tol=0.1)  # twelve o'clock


def test_needs_and_gaps_share_the_ring_in_order() -> None:
    circle = layout(
        [
            ("a", "org-0", [need("a:need:1"), need("a:need:2")]),
            ("b", "org-1", GapPoint("b", "B", "unavailable")),
            ("c", "org-2", [need("c:need:1", "c", "org-2")]),
        ]
    )
    assert [p.kind for p in circle.points] == ["need", "need", "gap", "need"]
    assert [s.status for s in circle.segments] == ["ok", "unavailable", "ok"]
    for point in circle.points:
        assert math.isclose(math.hypot(point.x - CX, point.y - CY), RING_R, abs_tol=0.2)
    assert len({(p.x, p.y) for p in circle.points}) == 4

"""Layout of the circle of need: every need and every silent source gets a place."""

from __future__ import annotations

import math

import pytest

from node.web.circle import (
    CX,
    CY,
    LABEL_ASCENT,
    LABEL_DESCENT,
    RING_R,
    GapPoint,
    NeedPoint,
    layout,
)


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


# The demo's organisations and its longest words (policies/taxonomy/labels.json).
DEMO_ORGS = [
    ("elmwood-gp", "Elmwood Surgery"),
    ("hillcrest-school", "Hillcrest Academy"),
    ("northdale-council", "Northdale Council"),
    ("northdale-police", "Northdale Police"),
    ("safe-harbour", "Safe Harbour Refuge"),
]
LONGEST_CATEGORY = "Income and benefits"
LONGEST_STATUS = "In progress"
# Conservative glyph widths for the label fonts (15 px bold, 12.5 px regular): wider
# than the average glyph of any sans-serif face, so the boxes below over-estimate.
BOLD_15_PX = 9.5
REGULAR_12_5_PX = 7.5


def demo_groups(needs: int, gaps: int = 0) -> list:
    groups: list = []
    for i, (org_id, org_name) in enumerate(DEMO_ORGS):
        if i >= len(DEMO_ORGS) - gaps:
            groups.append((org_id, f"org-{i}", GapPoint(org_id, org_name, "unavailable")))
            continue
        share = [n for n in range(needs) if n % (len(DEMO_ORGS) - gaps) == i]
        points = [
            NeedPoint(
                f"{org_id}:need:{n}",
                org_id,
                org_name,
                f"org-{i}",
                "income",
                "in_progress",
                "critical",
            )
            for n in share
        ]
        groups.append((org_id, f"org-{i}", points))
    return groups


def label_box(point) -> tuple[float, float, float, float]:
    name = point.need.org_name if point.need else point.gap.org_name
    width = max(
        len(LONGEST_CATEGORY) * BOLD_15_PX,
        len(f"{name} · {LONGEST_STATUS}") * REGULAR_12_5_PX,
    )
    left = point.label_x if point.anchor == "start" else point.label_x - width
    return (left, point.label_y - LABEL_ASCENT, left + width, point.label_y + LABEL_DESCENT)


def overlap(a, b) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


def box_meets_circle(box, cx, cy, r) -> bool:
    nearest_x = min(max(cx, box[0]), box[2])
    nearest_y = min(max(cy, box[1]), box[3])
    return math.hypot(cx - nearest_x, cy - nearest_y) < r


@pytest.mark.parametrize("gaps", [0, 2])
@pytest.mark.parametrize("needs", range(1, 21))
def test_labels_never_overlap_each_other_or_a_node_and_stay_in_the_picture(needs, gaps) -> None:
    circle = layout(demo_groups(needs, gaps))
    assert len(circle.needs) == needs
    boxes = [label_box(p) for p in circle.points]
    for i, a in enumerate(boxes):
        for b in boxes[i + 1 :]:
            assert not overlap(a, b), (needs, gaps, a, b)
        for p in circle.points:
            assert not box_meets_circle(a, p.x, p.y, p.r), (needs, gaps, a, p)
        assert a[0] >= 0
        assert a[2] <= circle.width
        assert a[1] >= circle.top
        assert a[3] <= circle.top + circle.height


@pytest.mark.parametrize("needs", [1, 8, 20])
def test_each_label_keeps_to_its_nodes_side_and_order(needs) -> None:
    circle = layout(demo_groups(needs))
    for side in ("start", "end"):
        column = [p for p in circle.points if p.anchor == side]
        assert all((p.x >= CX) == (side == "start") for p in column if abs(p.x - CX) > 0.5)
        # Labels keep their nodes' top-to-bottom order, so leader lines never cross.
        by_node = sorted(column, key=lambda p: p.y)
        assert [p.label_y for p in by_node] == sorted(p.label_y for p in column)

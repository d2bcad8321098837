"""Geometry of the "circle of need": the picture a joined-up view page opens with.

The person sits at the centre; each need is a node on a ring, grouped into one arc
segment per organisation and coloured by organisation (``org-<n>`` classes, the
same order as the legend). A source that declined, did not answer or answered
badly still gets its place on the ring, drawn as a grey dashed segment with a
hollow marker, so a gap in the picture is visible rather than silently absent.

Only positions are computed here; ``templates/_circle.html`` draws them, and the
same facts appear as lists below the picture (the SVG's text alternative).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

# Wide enough that the longest label ("Northdale Council · In progress") beside the
# ring at 3 or 9 o'clock is not clipped; low enough to leave no empty band above.
WIDTH = 920
HEIGHT = 540
CX = WIDTH / 2
CY = HEIGHT / 2
RING_R = 170.0
LABEL_R = 212.0
ORG_COLOURS = 8  # org-0 .. org-7 in joinedup.css; more organisations reuse them
SEVERITY_RADIUS = {"low": 17.0, "medium": 20.0, "high": 23.0, "critical": 26.0}


@dataclass(frozen=True)
class NeedPoint:
    """One need to draw."""

    ref: str
    org_id: str
    org_name: str
    org_class: str
    category: str
    status: str
    severity: str


@dataclass(frozen=True)
class GapPoint:
    """A source that gave nothing to draw (denied, unavailable or error)."""

    org_id: str
    org_name: str
    status: str


@dataclass
class Placed:
    kind: str  # "need" or "gap"
    x: float
    y: float
    r: float
    label_x: float
    label_y: float
    anchor: str
    need: NeedPoint | None = None
    gap: GapPoint | None = None


@dataclass
class Segment:
    org_id: str
    org_class: str
    status: str
    path: str
    full: bool = False


@dataclass
class Circle:
    width: int = WIDTH
    height: int = HEIGHT
    cx: float = CX
    cy: float = CY
    ring_r: float = RING_R
    points: list[Placed] = field(default_factory=list)
    segments: list[Segment] = field(default_factory=list)

    @property
    def needs(self) -> list[Placed]:
        return [p for p in self.points if p.kind == "need"]


def _at(angle: float, radius: float) -> tuple[float, float]:
    return round(CX + radius * math.cos(angle), 1), round(CY + radius * math.sin(angle), 1)


def _anchor(angle: float) -> str:
    c = math.cos(angle)
    if c > 0.35:
        return "start"
    if c < -0.35:
        return "end"
    return "middle"


def _arc(start: float, end: float) -> str:
    x1, y1 = _at(start, RING_R)
    x2, y2 = _at(end, RING_R)
    large = 1 if end - start > math.pi else 0
    return f"M {x1} {y1} A {RING_R} {RING_R} 0 {large} 1 {x2} {y2}"


def layout(groups: list[tuple[str, str, list[NeedPoint] | GapPoint]]) -> Circle:
    """Place ``groups`` (org id, org class, needs or a gap) around the ring, in order."""
    slots: list[tuple[str, str, NeedPoint | GapPoint]] = []
    for org_id, org_class, content in groups:
        items: list[NeedPoint | GapPoint] = (
            list(content) if isinstance(content, list) else [content]
        )
        slots.extend((org_id, org_class, item) for item in items)
    circle = Circle()
    total = len(slots)
    if total == 0:
        return circle
    step = 2 * math.pi / total
    start_angle = -math.pi / 2  # first slot at twelve o'clock, then clockwise
    index = 0
    for org_id, org_class, content in groups:
        count = len(content) if isinstance(content, list) else 1
        if count == 0:
            continue
        first = start_angle + index * step
        status = content.status if isinstance(content, GapPoint) else "ok"
        gap = 0.06 if total > 1 else 0.0
        path = _arc(first - step / 2 + gap, first + (count - 0.5) * step - gap)
        circle.segments.append(
            Segment(org_id, org_class, status, path, full=(count == total and total > 0))
        )
        index += count
    for i, (_org_id, _org_class, item) in enumerate(slots):
        angle = start_angle + i * step
        x, y = _at(angle, RING_R)
        lx, ly = _at(angle, LABEL_R)
        if isinstance(item, NeedPoint):
            radius = SEVERITY_RADIUS.get(item.severity, 20.0)
            circle.points.append(Placed("need", x, y, radius, lx, ly, _anchor(angle), need=item))
        else:
            circle.points.append(Placed("gap", x, y, 18.0, lx, ly, _anchor(angle), gap=item))
    return circle

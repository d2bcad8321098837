"""Geometry of the "circle of need": the picture a joined-up view page opens with.

The person sits at the centre; each need is a node on a ring, grouped into one arc
segment per organisation and coloured by organisation (``org-<n>`` classes, the
same order as the legend). A source that declined, did not answer or answered
badly still gets its place on the ring, drawn as a grey dashed segment with a
hollow marker, so a gap in the picture is visible rather than silently absent.

Only positions are computed here; ``templates/_circle.html`` draws them, and the
same facts appear as lists below the picture (the SVG's text alternative). On a
phone the picture would shrink its labels to a few pixels, so there a list drawn
from the same points replaces it (``.circle-list`` in joinedup.css).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

# Labels sit in two columns, left and right of the ring, each joined to its node by
# a leader line: placing them radially let neighbours collide ("In progrNsorthdale")
# once a view had eight needs. In a column they are pushed apart to at least one
# label's height, so no two labels overlap at any count; when a column needs more
# room than the picture has, the picture grows taller rather than labels overlapping.
WIDTH = 960
HEIGHT = 540
CX = WIDTH / 2
CY = HEIGHT / 2
RING_R = 170.0
# Columns start beyond the largest node (ring radius plus the critical radius).
LABEL_R = 214.0
ORG_COLOURS = 8  # org-0 .. org-7 in joinedup.css; more organisations reuse them
SEVERITY_RADIUS = {"low": 17.0, "medium": 20.0, "high": 23.0, "critical": 26.0}
# A label is two lines: the category (15 px bold) over "organisation · status"
# (12.5 px, 16 px lower); it reaches LABEL_ASCENT above its baseline and
# LABEL_DESCENT below it. Sizes match .need-label and .need-status in joinedup.css.
LABEL_ASCENT = 15.0
LABEL_DESCENT = 21.0
LABEL_GAP = 6.0
LABEL_SPACING = LABEL_ASCENT + LABEL_DESCENT + LABEL_GAP
MARGIN = 8.0


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
    anchor: str  # "start" (right column) or "end" (left column)
    need: NeedPoint | None = None
    gap: GapPoint | None = None
    # The leader line from the node's edge to its label.
    leader: tuple[float, float, float, float] = (0.0, 0.0, 0.0, 0.0)


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
    top: int = 0  # the viewBox's min-y: negative when a label column needed more room
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
        # A node straight above or below the centre goes right if on top, left if below.
        right = math.cos(angle) > 1e-9 or (abs(math.cos(angle)) <= 1e-9 and math.sin(angle) < 0)
        side = 1 if right else -1
        anchor = "start" if right else "end"
        lx = round(CX + side * LABEL_R, 1)
        if isinstance(item, NeedPoint):
            radius = SEVERITY_RADIUS.get(item.severity, 20.0)
            circle.points.append(Placed("need", x, y, radius, lx, y, anchor, need=item))
        else:
            circle.points.append(Placed("gap", x, y, 18.0, lx, y, anchor, gap=item))
    for column in ("start", "end"):
        _spread([p for p in circle.points if p.anchor == column])
    lowest = min(p.label_y - LABEL_ASCENT for p in circle.points) - MARGIN
    highest = max(p.label_y + LABEL_DESCENT for p in circle.points) + MARGIN
    circle.top = math.floor(min(0.0, lowest))
    circle.height = math.ceil(max(float(HEIGHT), highest)) - circle.top
    for p in circle.points:
        side = 1 if p.anchor == "start" else -1
        edge = math.atan2(p.label_y - LABEL_ASCENT / 3 - p.y, p.label_x - p.x)
        p.leader = (
            round(p.x + p.r * math.cos(edge), 1),
            round(p.y + p.r * math.sin(edge), 1),
            round(p.label_x - side * 4, 1),
            round(p.label_y - LABEL_ASCENT / 3, 1),
        )
    return circle


def _spread(column: list[Placed]) -> None:
    """Move labels of one column apart, as little as possible, in their nodes' order.

    Each label wants its node's height. Going down, a label moves below the one above
    it by at least ``LABEL_SPACING``; if that pushes the last past the picture's
    bottom, the column is pushed back up from the bottom the same way. A column
    taller than the picture keeps its spacing and the picture grows (``layout``).
    """
    if not column:
        return
    column.sort(key=lambda p: (p.y, p.x))
    top = MARGIN + LABEL_ASCENT
    bottom = HEIGHT - MARGIN - LABEL_DESCENT
    needed = LABEL_SPACING * (len(column) - 1)
    if needed > bottom - top:
        extra = (needed - (bottom - top)) / 2
        top, bottom = top - extra, bottom + extra
    previous = top - LABEL_SPACING
    for p in column:
        p.label_y = round(max(p.y, previous + LABEL_SPACING), 1)
        previous = p.label_y
    following = bottom + LABEL_SPACING
    for p in reversed(column):
        p.label_y = round(min(p.label_y, following - LABEL_SPACING), 1)
        following = p.label_y

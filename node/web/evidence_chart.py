"""The evidence page's chart: Vega-Altair, rendered to SVG on the server (vl-convert).

Only the numbers the page shows are charted (suppressed and hidden ones are left
out, never drawn as zero). No script runs in the browser: the SVG is an image with
a text alternative, and the same numbers are in the table beside it. Rendering runs
a JavaScript engine inside vl-convert, so callers run it in a worker thread.
"""

from __future__ import annotations

import base64
import logging
from typing import Any

from node.evidence.schemas import EvidenceAnswer

log = logging.getLogger("joinedup.node.web")


def chart_spec(answer: EvidenceAnswer) -> dict[str, Any] | None:
    """The Vega-Lite specification of ``answer``'s chart; None if nothing is shown."""
    import altair as alt

    pairs = answer.question == "need_cooccurrence"
    points = [
        {
            "category": row_label,
            "column": answer.column_labels[c],
            "people": cell.value,
        }
        for r, row_label in enumerate(answer.row_labels)
        for c, cell in enumerate(answer.cells[r])
        if cell.shown == "count" and cell.value is not None and (not pairs or cell.value > 0)
    ]
    if not points:
        return None
    data = alt.Data(values=points)  # type: ignore[no-untyped-call]
    if pairs:
        chart = (
            alt.Chart(data)
            .mark_rect()
            .encode(
                x=alt.X("column:N", sort=answer.column_labels, title="Need category"),
                y=alt.Y("category:N", sort=answer.row_labels, title="Occurs together with"),
                color=alt.Color("people:Q", title="People", scale=alt.Scale(scheme="blues")),
            )
        )
    else:
        chart = (
            alt.Chart(data)
            .mark_line(point=True)
            .encode(
                x=alt.X("column:N", sort=answer.column_labels, title="Month"),
                y=alt.Y("people:Q", title="People with an open need"),
                color=alt.Color("category:N", title="Need category"),
            )
        )
    spec: dict[str, Any] = chart.properties(width=560, height=280).to_dict()
    return spec


def chart_image(answer: EvidenceAnswer) -> str | None:
    """The chart as a ``data:`` URL of its SVG, or None (no numbers, or no renderer)."""
    try:
        spec = chart_spec(answer)
        if spec is None:
            return None
        import vl_convert

        svg: str = vl_convert.vegalite_to_svg(spec)
    except ImportError:
        log.warning("charts unavailable: altair or vl-convert-python is not installed")
        return None
    return "data:image/svg+xml;base64," + base64.b64encode(svg.encode()).decode()

"""Accessibility checks for the browser tests: axe-core (via axe-playwright-python)
against WCAG 2.2 level A and AA on the page as it is shown."""

from __future__ import annotations

from typing import Any

from axe_playwright_python.sync_playwright import Axe

WCAG_AA = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]


def assert_accessible(page: Any, what: str) -> None:
    """Fail, naming each rule and element, if axe finds a WCAG 2.2 AA violation."""
    results = Axe().run(page, options={"runOnly": {"type": "tag", "values": WCAG_AA}})
    violations = results.response["violations"]
    details = [
        f"{v['id']} ({v['impact']}): {v['help']} at {[n['target'] for n in v['nodes']]}"
        for v in violations
    ]
    assert not violations, f"{what} fails WCAG 2.2 AA:\n" + "\n".join(details)

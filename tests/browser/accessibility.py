"""axe-core on the page in the browser: the WCAG 2.2 AA bar, checked where users see it.

UK public services must meet WCAG 2.2 AA. Both helpers run axe-core (the copy bundled
by ``axe-playwright-python``, no download) on whatever the page shows now, limited to
the WCAG 2.0, 2.1 and 2.2 A and AA rules, and name each violation in one readable line:
which rule, how bad, which elements. ``assert_accessible`` fails at once;
``AxeAudit.check`` collects, across a walk through an app, and notes which route of the
app served each checked page (method and path template, from the main frame's last
navigation), so a test can compare the checked routes with every route the HTML
routers declare: a new page without an axe check fails that comparison instead of
going unchecked.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from axe_playwright_python.sync_playwright import Axe
from fastapi.routing import APIRoute
from starlette.routing import compile_path

# axe-core's tags for the WCAG 2.0, 2.1 and 2.2 level A and AA success criteria
# (2.2 added no level-A rule to axe-core, so it has no "wcag22a" tag).
WCAG_AA = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]
AXE_OPTIONS = {"runOnly": {"type": "tag", "values": WCAG_AA}, "resultTypes": ["violations"]}


def violation_lines(page: Any, axe: Axe | None = None) -> list[str]:
    """axe's WCAG 2.2 AA violations on ``page`` now: 'rule [impact] help -> targets'."""
    results = (axe or Axe()).run(page, options=AXE_OPTIONS).response
    return [
        f"{v['id']} [{v['impact']}] {v['help']} -> "
        + "; ".join(" ".join(str(t) for t in node["target"]) for node in v["nodes"])
        for v in results["violations"]
    ]


def assert_accessible(page: Any, what: str) -> None:
    """Fail, naming each rule and element, if axe finds a WCAG 2.2 AA violation."""
    lines = violation_lines(page)
    assert not lines, f"{what} fails WCAG 2.2 AA:\n" + "\n".join(lines)


@dataclass(frozen=True)
class PageRoute:
    """One route of an HTML router: method, path template and its matcher."""

    method: str
    path: str
    pattern: re.Pattern[str]


def page_routes(router: Any) -> list[PageRoute]:
    """Every (method, path) route of ``router``, its included routers' routes too."""
    return sorted(_walk(router.routes, router.prefix), key=lambda r: (r.path, r.method))


def _walk(routes: Any, prefix: str) -> Iterator[PageRoute]:
    for route in routes:
        inner = getattr(route, "original_router", None)  # FastAPI's lazily included router
        if inner is not None:
            yield from _walk(inner.routes, prefix + inner.prefix)
        elif isinstance(route, APIRoute):
            # Routes declared on the prefixed router itself already carry the prefix.
            path = route.path if route.path.startswith(prefix) else prefix + route.path
            pattern, _, _ = compile_path(path)
            for method in sorted(route.methods):
                yield PageRoute(method=method, path=path, pattern=pattern)


@dataclass
class AxeAudit:
    """Runs axe on pages, collects violations and the routes that were checked."""

    routes: list[PageRoute]
    axe: Axe = field(default_factory=Axe)
    violations: list[str] = field(default_factory=list)
    checked: set[tuple[str, str, int]] = field(default_factory=set)
    _methods: dict[int, str] = field(default_factory=dict)

    def watch(self, page: Any) -> Any:
        """Follow ``page``'s navigations, to know whether a GET or a POST drew it."""

        def note(request: Any) -> None:
            if request.is_navigation_request() and request.frame == page.main_frame:
                self._methods[id(page)] = request.method

        page.on("request", note)
        return page

    def check(self, page: Any, label: str) -> None:
        """Run axe on what ``page`` shows now; remember its route and any violations."""
        page.wait_for_load_state()
        width = page.viewport_size["width"]
        path = urlsplit(page.url).path
        method = self._methods.get(id(page), "GET")
        route = next((r for r in self.routes if r.method == method and r.pattern.match(path)), None)
        assert route is not None, f"{label}: {method} {path} is no route of this app"
        self.checked.add((route.method, route.path, width))
        for line in violation_lines(page, self.axe):
            self.violations.append(f"{label} ({method} {path}, {width}px): {line}")

    def unchecked(self, widths: tuple[int, ...], excluded: dict[str, str]) -> list[str]:
        """Routes (``METHOD path``) never checked at one of ``widths``, bar ``excluded``."""
        missing = []
        for route in self.routes:
            key = f"{route.method} {route.path}"
            if key in excluded:
                continue
            for width in widths:
                if (route.method, route.path, width) not in self.checked:
                    missing.append(f"{key} at {width}px")
        return missing

    def report(self) -> str:
        """The violations, one per line, for an assertion message."""
        return f"{len(self.violations)} WCAG 2.2 AA violation(s):\n" + "\n".join(self.violations)

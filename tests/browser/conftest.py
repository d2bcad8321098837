"""Browser-test fixtures: the demo federation, headless Chromium, an artefacts folder.

Playwright drives Debian's Chromium at /usr/bin/chromium (``make test`` installs it
through tests/browser/ensure_chromium.sh; ``playwright install`` cannot run here).
Where it is absent the tests skip and say so. Screenshots are kept under
``test-artifacts/browser/`` (gitignored) so a failing story can be looked at.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from joinedup.demo.launcher import DemoFederation

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "browser"


@pytest.fixture(scope="module")
def chromium_browser() -> Iterator[object]:
    """One headless Chromium per module, closed (with Playwright) afterwards."""
    if not CHROMIUM.exists():
        pytest.skip(
            "no /usr/bin/chromium: run tests/browser/ensure_chromium.sh as root "
            "(apt-get install chromium) to run the browser tests"
        )
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DemoFederation]:
    """The demo federation, seeded, on free ports in a temporary data directory."""
    with DemoFederation(data_dir=tmp_path_factory.mktemp("demo-data"), port_base=None) as running:
        yield running


@pytest.fixture
def artifacts(request: pytest.FixtureRequest) -> Path:
    """A folder for this test's screenshots (kept after the run, never committed)."""
    path = ARTIFACTS / request.node.name
    path.mkdir(parents=True, exist_ok=True)
    return path

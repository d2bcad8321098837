"""The demo with ``--with-identity-provider``, in a real browser: staff sign in through
their organisation's provider, land on their page, and sign out of both.

A real browser matters here: it enforces ``SameSite`` and the pages' CSP, which an
HTTP client does not (the session cookie is ``SameSite=Strict`` and arrives at the end
of a redirect chain that began at the provider's site).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from joinedup.demo.launcher import DemoFederation
from tests.browser.accessibility import assert_accessible

pytestmark = [pytest.mark.browser, pytest.mark.e2e]

COUNCIL = "northdale-council"


@pytest.fixture(scope="module")
def demo_with_provider(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DemoFederation]:
    data_dir = tmp_path_factory.mktemp("demo-idp")
    with DemoFederation(data_dir=data_dir, port_base=None, identity_provider=True) as running:
        yield running


def test_staff_sign_in_and_out_through_their_provider(
    chromium_browser: Any, demo_with_provider: DemoFederation, artifacts: Path
) -> None:
    council_url = demo_with_provider.url(COUNCIL)
    context = chromium_browser.new_context()
    try:
        page = context.new_page()
        page.goto(f"{council_url}/ui/login")
        assert_accessible(page, "the sign-in page with the provider's button")
        page.get_by_test_id("provider-sign-in").click()
        page.get_by_role("link", name="Cody Coordinator (demo)").click()
        # Through the provider and back: a co-ordinator starts at Find a person.
        expect(page.get_by_test_id("nav-persons")).to_be_visible()
        assert page.url == f"{council_url}/ui/persons"
        expect(
            page.get_by_role("link", name="Cody Coordinator (demo) (Care co-ordinator)")
        ).to_be_visible()
        page.screenshot(path=str(artifacts / "01-signed-in-through-provider.png"), full_page=True)
        page.goto(f"{council_url}/ui/account")
        expect(page.get_by_text("your organisation's own sign-in")).to_be_visible()
        assert_accessible(page, "the account page of a provider-signed-in person")
        page.get_by_test_id("sign-out").click()
        # Signed out here, then at the provider, and back at the sign-in page.
        expect(page.get_by_test_id("login-form")).to_be_visible()
        page.goto(f"{council_url}/ui/persons")
        expect(page.get_by_test_id("login-form")).to_be_visible()
        # Someone the provider knows but whose groups give no role here is refused.
        page.get_by_test_id("provider-sign-in").click()
        page.get_by_role("link", name="Pat Payroll (not a joinedup user)").click()
        expect(page.get_by_test_id("login-error")).to_contain_text("did not let you in")
        assert_accessible(page, "the sign-in page after a provider refusal")
    finally:
        context.close()


def test_pages_between_sign_in_and_out_are_accessible(
    chromium_browser: Any, demo_with_provider: DemoFederation
) -> None:
    """The two short pages that move on by themselves, held still for axe."""
    council_url = demo_with_provider.url(COUNCIL)
    context = chromium_browser.new_context()
    try:
        page = context.new_page()
        # Hold the "You are signed in" page: its automatic move to Find a person gets a
        # 204 No Content, which leaves a browser on the page it is on.
        page.route(f"{council_url}/ui/persons", lambda route: route.fulfill(status=204))
        page.goto(f"{council_url}/ui/login")
        page.get_by_test_id("provider-sign-in").click()
        page.get_by_role("link", name="Cody Coordinator (demo)").click()
        expect(page.get_by_test_id("continue")).to_be_visible()
        assert_accessible(page, "the signed-in page")
        page.unroute(f"{council_url}/ui/persons")
        page.goto(f"{council_url}/ui/account")
        # Hold the "You are signed out" page: its move to the provider is stopped.
        provider = demo_with_provider.provider_url
        assert provider is not None
        page.route(f"{provider}/logout*", lambda route: route.fulfill(status=204))
        page.get_by_test_id("sign-out").click()
        expect(page.get_by_test_id("provider-sign-out")).to_be_visible()
        assert_accessible(page, "the signed-out page")
    finally:
        context.close()

"""A customer locked out of the portal gets back in with a one-time code (issue 11.10).

In headless Chromium at phone width, by keyboard: the customer fails to sign in
until the portal refuses even the right password and says where to get a code; the
organisation that enrolled them issues a recovery code through the signed member
API (``POST /federation/customers/recovery``); the customer follows the sign-in
page's link, sets a new password with the code and signs in with it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest

from appkit.throttle import PER_USERNAME
from federation.envelope import sign_request
from federation.registry import CONSENT_SERVICE_ID
from federation.wire.customer import CustomerRecover
from joinedup.demo.launcher import DemoFederation

pytestmark = [pytest.mark.browser, pytest.mark.e2e]

NEW_PASSWORD = "kettle orchard lantern"


def _try_sign_in(page: Any, base_url: str, username: str, password: str) -> None:
    page.goto(f"{base_url}/portal/login")
    page.fill("#username", username)
    page.fill("#password", password)
    with page.expect_navigation():
        page.keyboard.press("Enter")


def _recovery_code(demo: DemoFederation, person: str) -> str:
    """The code the enrolling organisation would hand over, asked for as that node."""
    via = next(e.via for e in demo.scenario.enrolments if e.person == person)
    signed = sign_request(
        CustomerRecover(subject_id=demo.seed.subjects[person]),
        keys=demo.federation.keys[via],
        issuer=via,
        audience=CONSENT_SERVICE_ID,
    )
    response = httpx.post(
        f"{demo.url('consent')}/federation/customers/recovery",
        json={"request": signed},
        timeout=30,
    )
    assert response.status_code == 201, response.text
    return str(response.json()["recovery_code"])


def test_a_locked_out_customer_sets_a_new_password_with_a_code(
    demo: DemoFederation, chromium_browser: Any, artifacts: Path
) -> None:
    customer = demo.scenario.customers[-1]
    base_url = demo.url("consent")
    context = chromium_browser.new_context(viewport={"width": 390, "height": 844})
    page = context.new_page()
    try:
        for _ in range(PER_USERNAME.max_failures):
            _try_sign_in(page, base_url, customer.username, "a wrong guess at it")
        _try_sign_in(page, base_url, customer.username, demo.scenario.password)
        error = page.get_by_test_id("login-error")
        assert "Too many failed sign-ins" in error.inner_text()
        assert "code from the organisation" in error.inner_text()
        page.screenshot(path=str(artifacts / "locked-out.png"), full_page=True)

        code = _recovery_code(demo, customer.person)
        # By keyboard from the sign-in page to the recovery form.
        page.get_by_test_id("recover-link").focus()
        with page.expect_navigation():
            page.keyboard.press("Enter")
        page.wait_for_url(f"{base_url}/portal/recover")
        page.fill("#code", code)
        page.fill("#password", NEW_PASSWORD)
        page.fill("#password_again", NEW_PASSWORD)
        page.screenshot(path=str(artifacts / "recover.png"), full_page=True)
        with page.expect_navigation():
            page.keyboard.press("Enter")
        page.wait_for_url(f"{base_url}/portal/login?reset=1")
        assert "Your new password is set" in page.get_by_test_id("login-reset").inner_text()
        assert page.evaluate("document.documentElement.scrollWidth") <= 390

        _try_sign_in(page, base_url, customer.username, NEW_PASSWORD)
        assert page.get_by_test_id("login-error").count() == 0
        assert page.url.rstrip("/").endswith("/portal")
    finally:
        context.close()

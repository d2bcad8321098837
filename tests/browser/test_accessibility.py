"""Every page of both apps meets WCAG 2.2 AA as far as axe-core can tell, at 1280 and 390 px.

The walk visits each page of the staff pages (node/web) and of the consent portal
(consent/portal) in the states people meet them in: empty forms, forms with errors,
results, the emergency view, flash messages, error pages. At each, axe-core runs at
desktop width and again at phone width. Then the routes the walk reached are compared
with every route the two HTML routers declare, so a page added later without a check
here fails this test until it is visited. Routes that only redirect, or that serve
files rather than pages, are listed below with the reason.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import expect

from consent.portal.router import router as portal_router
from joinedup.demo.launcher import DemoFederation
from node.web.router import router as staff_router
from tests.browser.accessibility import AxeAudit, page_routes

pytestmark = [pytest.mark.browser, pytest.mark.e2e]

COUNCIL = "northdale-council"
POLICE = "northdale-police"
REFUGE = "safe-harbour"
DELIVERY_S = 60.0
DESKTOP, PHONE = 1280, 390
WIDTHS = (DESKTOP, PHONE)

NOT_PAGES = {
    "GET /ui/static/{name}": "a stylesheet or script, not a page",
    "GET /ui/": "only redirects to the role's own page",
    "POST /ui/logout": "only redirects to the sign-in page",
    "POST /ui/outbox/{message_id}/retry": "only redirects to the outbox page",
    "POST /ui/guide/catalogue/{service_key}/capacity": "only redirects to the catalogue page",
    "POST /ui/guide/catalogue/{service_key}/remove": "only redirects to the catalogue page",
    "GET /ui/evidence.csv": "a download (CSV), not a page",
    "GET /portal/static/{name}": "a stylesheet, not a page",
    "POST /portal/logout": "only redirects to the sign-in page",
    "POST /portal/notices/{notice_id}/read": "only redirects to 'my consents'",
    "POST /portal/consents/{consent_id}/revoke": "only redirects to 'my consents'",
}


@pytest.fixture
def contexts(chromium_browser: Any) -> Iterator[list[Any]]:
    """Browser contexts made by the test (one per signed-in person), closed afterwards."""
    made: list[Any] = []
    yield made
    for context in made:
        context.close()


def _new_page(browser: Any, contexts: list[Any], audit: AxeAudit) -> Any:
    context = browser.new_context(viewport={"width": DESKTOP, "height": 900})
    contexts.append(context)
    return audit.watch(context.new_page())


def _check(audit: AxeAudit, page: Any, label: str) -> None:
    """axe at desktop width, then at phone width, then back to desktop."""
    for width in WIDTHS:
        page.set_viewport_size({"width": width, "height": 900})
        audit.check(page, label)
    page.set_viewport_size({"width": DESKTOP, "height": 900})


def _assert_fits_a_phone(page: Any, table: Any, label: str) -> None:
    """At 390 px each row is a card: no column is cut off at the screen's edge."""
    page.set_viewport_size({"width": PHONE, "height": 900})
    fits = table.evaluate("t => t.parentElement.scrollWidth <= t.parentElement.clientWidth")
    assert fits, f"{label} table scrolls sideways at {PHONE} px"
    page.set_viewport_size({"width": DESKTOP, "height": 900})


def _submit(page: Any, form_testid: str) -> None:
    page.get_by_test_id(form_testid).locator("button[type=submit]").first.click()
    page.wait_for_load_state()


def _sign_in(page: Any, login_url: str, username: str, password: str) -> None:
    page.goto(login_url)
    page.fill("#username", username)
    page.fill("#password", password)
    _submit(page, "login-form")
    assert page.get_by_test_id("login-error").count() == 0


def _check_sign_in(audit: AxeAudit, page: Any, login_url: str) -> None:
    """The sign-in form, empty and after a failed sign-in."""
    page.goto(login_url)
    _check(audit, page, "sign-in")
    page.fill("#username", "nobody")
    page.fill("#password", "not the password")
    _submit(page, "login-form")
    expect(page.get_by_test_id("login-error")).to_be_visible()
    _check(audit, page, "sign-in with an error")


def _check_referral_pages(audit: AxeAudit, page: Any, council: str, person_url: str) -> str:
    """The refer form (empty, with errors), the referral just sent, both lists; its id."""
    page.goto(person_url)
    page.get_by_test_id("refer-link").click()
    page.wait_for_load_state()
    _check(audit, page, "refer form")
    _submit(page, "refer-form")  # nothing filled in
    expect(page.get_by_test_id("error-summary")).to_be_visible()
    _check(audit, page, "refer form with errors")
    page.select_option("#to_org", REFUGE)
    page.select_option("#category", "mental_health")
    page.fill("#reason", "Kit would benefit from the refuge's play-therapy group.")
    page.fill("#person_told", "Morgan knows the refuge will call about Kit.")
    _submit(page, "refer-form")
    expect(page.get_by_test_id("referral-done")).to_be_visible()
    _check(audit, page, "a referral just sent")
    referral_id = page.url.split("/ui/referrals/")[1].split("?")[0]
    page.get_by_test_id("nav-referrals-sent").click()
    page.wait_for_load_state()
    _check(audit, page, "referrals sent")
    _assert_fits_a_phone(page, page.get_by_test_id("referral-table"), "referrals sent")
    page.get_by_test_id("nav-referrals-received").click()
    page.wait_for_load_state()
    expect(page.get_by_test_id("referrals-empty")).to_be_visible()
    _check(audit, page, "referrals received (none)")
    return referral_id


def _check_received_referral(audit: AxeAudit, page: Any, base_url: str, referral_id: str) -> None:
    """At the receiver: the inbox, the referral, and accepting it without naming a worker."""
    page.goto(f"{base_url}/ui/referrals")
    row = page.get_by_test_id(f"referral-row-{referral_id}")
    deadline = time.monotonic() + DELIVERY_S  # delivered by the sender's outbox worker
    while row.count() == 0:
        assert time.monotonic() < deadline, "the referral never reached the refuge"
        page.wait_for_timeout(200)
        page.reload()
    _check(audit, page, "referrals received")
    _assert_fits_a_phone(page, page.get_by_test_id("referral-table"), "referrals received")
    row.get_by_test_id("referral-link").click()
    page.wait_for_load_state()
    _check(audit, page, "a referral received")
    _submit(page, "change-accepted")  # no worker named
    expect(page.get_by_test_id("error-summary")).to_be_visible()
    _check(audit, page, "accepting a referral without a worker")


def test_every_staff_page_meets_wcag_22_aa(
    chromium_browser: Any, demo: DemoFederation, contexts: list[Any]
) -> None:
    audit = AxeAudit(routes=page_routes(staff_router))
    password = demo.scenario.password
    council = demo.url(COUNCIL)

    page = _new_page(chromium_browser, contexts, audit)
    _check_sign_in(audit, page, f"{council}/ui/login")

    _sign_in(page, f"{council}/ui/login", "coordinator", password)
    page.goto(f"{council}/ui/persons")
    _check(audit, page, "find a person")
    page.goto(f"{council}/ui/persons?q=Sample")
    _check(audit, page, "search results")
    page.get_by_test_id("person-results").locator("a").first.click()
    page.wait_for_load_state()
    _check(audit, page, "person page")
    person_url = page.url
    needs = page.locator("section[aria-labelledby='needs-title'] table")
    _assert_fits_a_phone(page, needs, "the person page's needs")
    page.get_by_test_id("request-view-link").click()
    page.wait_for_load_state()
    _check(audit, page, "view request form")
    _submit(page, "view-request-form")  # no purpose chosen
    _check(audit, page, "view request form with errors")
    page.select_option("#purpose", "care_coordination")
    _submit(page, "view-request-form")
    page.get_by_test_id("circle-of-need").wait_for()
    _check(audit, page, "joined-up view")
    _assert_fits_a_phone(page, page.get_by_test_id("view-referrals"), "the view's referrals")
    # Who can help with Morgan's housing need: the guide, eligibility from our record.
    page.get_by_test_id("who-can-help-housing").click()
    page.wait_for_load_state()
    expect(page.get_by_test_id("guide-person")).to_be_visible()
    refer = page.locator(
        "[data-testid='guide-hit-safe-harbour-refuge-place'] a[data-testid='guide-refer']"
    )
    assert refer.get_attribute("href") == (
        "/ui/referrals/new?org=safe-harbour&service=refuge-place&category=housing"
    )
    _check(audit, page, "who can help (from the view)")
    page.fill("#age", "two hundred")
    _submit(page, "guide-search")
    expect(page.get_by_test_id("error-summary")).to_be_visible()
    _check(audit, page, "who can help with an error")
    page.goto(f"{council}/ui/referrals/new?org=safe-harbour&service=refuge-place&category=housing")
    expect(page.get_by_test_id("referral-start")).to_contain_text("Safe Harbour Refuge")
    _check(audit, page, "start a referral from the guide")
    referral_id = _check_referral_pages(audit, page, council, person_url)
    refuge = _new_page(chromium_browser, contexts, audit)
    _sign_in(refuge, f"{demo.url(REFUGE)}/ui/login", "coordinator", password)
    _check_received_referral(audit, refuge, demo.url(REFUGE), referral_id)
    assert demo.seed is not None
    page.goto(f"{council}/ui/referrals/{demo.seed.referrals[0]}")
    expect(page.get_by_test_id("referral-state")).to_have_attribute("data-state", "completed")
    _check(audit, page, "a completed referral and its history")
    page.goto(f"{council}/ui/persons/999999999")
    _check(audit, page, "error page (no such person)")
    page.goto(f"{council}/ui/account")
    _check(audit, page, "account (coordinator)")

    admin = _new_page(chromium_browser, contexts, audit)
    _sign_in(admin, f"{council}/ui/login", "admin", password)
    _check(audit, admin, "account (admin's home)")
    admin.goto(f"{council}/ui/guide/catalogue")
    expect(admin.get_by_test_id("catalogue-service-housing-options")).to_be_visible()
    _check(audit, admin, "our services in the guide (admin)")
    _submit(admin, "add-service-form")  # nothing filled in
    expect(admin.get_by_test_id("error-summary")).to_be_visible()
    _check(audit, admin, "add a service, with errors")

    police = _new_page(chromium_browser, contexts, audit)
    _sign_in(police, f"{demo.url(POLICE)}/ui/login", "safeguarding", password)
    police.goto(f"{demo.url(POLICE)}/ui/persons?q=Sample")
    police.get_by_test_id("person-results").locator("a").first.click()
    police.get_by_test_id("request-view-link").click()
    police.select_option("#purpose", "safeguarding")
    police.select_option("#emergency_basis", "safeguarding")
    police.fill("#justification", "Credible threat reported tonight; children may be at risk.")
    _submit(police, "view-request-form")
    expect(police.get_by_test_id("emergency-banner")).to_be_visible()
    _check(audit, police, "emergency joined-up view")

    # The emergency view queued a notice to the customer in the police node's outbox.
    police_admin = _new_page(chromium_browser, contexts, audit)
    _sign_in(police_admin, f"{demo.url(POLICE)}/ui/login", "admin", password)
    police_admin.goto(f"{demo.url(POLICE)}/ui/outbox")
    expect(police_admin.get_by_test_id("outbox-table")).to_be_visible()
    _check(audit, police_admin, "outbox (admin)")

    analyst = _new_page(chromium_browser, contexts, audit)
    _sign_in(analyst, f"{council}/ui/login", "analyst", password)
    expect(analyst.get_by_test_id("evidence-form")).to_be_visible()
    _check(audit, analyst, "evidence form")
    analyst.fill("#period_from", "2026-13")
    _submit(analyst, "evidence-form")
    expect(analyst.get_by_test_id("error-summary")).to_be_visible()
    _check(audit, analyst, "evidence form with errors")
    analyst.select_option("#question", "open_needs_by_category_month")
    analyst.fill("#period_from", "2026-01")
    analyst.fill("#period_to", "2026-06")
    _submit(analyst, "evidence-form")
    expect(analyst.get_by_test_id("evidence-table")).to_be_visible()
    _check(audit, analyst, "evidence answer")
    analyst.get_by_test_id("evidence-summary-link").click()
    analyst.wait_for_load_state()
    expect(analyst.get_by_test_id("evidence-summary-facts")).to_be_visible()
    _check(audit, analyst, "evidence printable summary")

    auditor = _new_page(chromium_browser, contexts, audit)
    _sign_in(auditor, f"{council}/ui/login", "auditor", password)
    _check(audit, auditor, "audit log")
    auditor.goto(f"{council}/ui/audit?kind=nonsense&since=yesterday")
    expect(auditor.get_by_test_id("error-summary")).to_be_visible()
    _check(audit, auditor, "audit log with a bad filter")
    # A download (CSV, JSON Lines) with a bad filter answers with the same page.
    auditor.goto(f"{council}/ui/audit/export.csv?kind=nonsense")
    _check(audit, auditor, "audit export with a bad filter")
    auditor.get_by_test_id("audit-verify").click()
    auditor.get_by_test_id("audit-verify-result").wait_for()
    _check(audit, auditor, "audit log verified")
    auditor.goto(f"{council}/ui/audit?kind=view_requested")
    auditor.get_by_test_id("audit-who-button").first.click()
    expect(auditor.get_by_test_id("audit-who")).to_be_visible()
    _check(audit, auditor, "audit log: who is this?")

    missing = audit.unchecked(WIDTHS, NOT_PAGES)
    assert not missing, "staff pages without an axe check: " + ", ".join(missing)
    assert not audit.violations, audit.report()


def test_every_portal_page_meets_wcag_22_aa(
    chromium_browser: Any, demo: DemoFederation, contexts: list[Any]
) -> None:
    audit = AxeAudit(routes=page_routes(portal_router))
    portal = demo.url("consent")

    page = _new_page(chromium_browser, contexts, audit)
    _check_sign_in(audit, page, f"{portal}/portal/login")

    page.goto(f"{portal}/portal/recover")
    _check(audit, page, "a way back in with a one-time code")
    page.fill("#code", "not-a-real-code")
    page.fill("#password", "four ordinary words together")
    page.fill("#password_again", "four ordinary words apart")
    _submit(page, "recover-form")
    expect(page.get_by_test_id("recover-error")).to_be_visible()
    _check(audit, page, "a way back in, with an error")

    _sign_in(page, f"{portal}/portal/login", "morgan", demo.scenario.password)
    expect(page.locator("[data-testid^='consent-cns_']").first).to_be_visible()
    _check(audit, page, "my consents")
    consent = page.locator("[data-testid^='consent-cns_']").first.get_attribute("data-testid")
    assert consent is not None
    consent_id = consent.removeprefix("consent-")
    page.goto(f"{portal}/portal/?done=granted")
    expect(page.get_by_test_id("flash")).to_be_visible()
    _check(audit, page, "my consents with a message")

    page.get_by_test_id("nav-grant").click()
    page.wait_for_load_state()
    _check(audit, page, "grant form")
    _submit(page, "grant-form")  # nothing chosen
    _check(audit, page, "grant form with errors")

    page.goto(f"{portal}/portal/consents/{consent_id}/revoke")
    _check(audit, page, "revoke: are you sure?")
    page.goto(f"{portal}/portal/consents/{consent_id}/history")
    _check(audit, page, "consent history")
    page.goto(f"{portal}/portal/consents/cns_no_such_consent/history")
    _check(audit, page, "error page (no such consent)")

    page.goto(f"{portal}/portal/")
    page.get_by_test_id("nav-access").click()
    page.wait_for_load_state()
    _check(audit, page, "who saw my records")
    _assert_fits_a_phone(page, page.get_by_test_id("access-report"), "who saw my records")

    missing = audit.unchecked(WIDTHS, NOT_PAGES)
    assert not missing, "portal pages without an axe check: " + ", ".join(missing)
    assert not audit.violations, audit.report()


BROKEN_PAGE = """<!doctype html><html><head></head><body>
<img src="/ui/static/none.png"><input id="nameless">
<form method="post" action="/ui/login"><button type="submit">Go</button></form>
</body></html>"""


def test_the_check_names_violations_and_pages_never_checked(
    chromium_browser: Any, contexts: list[Any]
) -> None:
    """The guard itself: a broken page fails with readable lines; a skipped route shows."""
    audit = AxeAudit(routes=page_routes(staff_router))
    page = _new_page(chromium_browser, contexts, audit)
    page.route(
        "http://joinedup.invalid/**",
        lambda route: route.fulfill(status=200, content_type="text/html", body=BROKEN_PAGE),
    )
    page.goto("http://joinedup.invalid/ui/login")
    audit.check(page, "broken sign-in")
    page.get_by_role("button", name="Go").click()
    page.wait_for_load_state()
    audit.check(page, "broken sign-in, posted")

    lines = audit.report().splitlines()
    assert lines[0] == f"{len(lines) - 1} WCAG 2.2 AA violation(s):", lines
    assert "broken sign-in (GET /ui/login, 1280px): image-alt [critical]" in audit.report()
    assert any(" label [critical] " in line and "#nameless" in line for line in lines)
    assert any("html-has-lang [serious]" in line for line in lines)
    assert any("target-size [serious]" in line for line in lines)  # a WCAG 2.2 rule
    assert ("POST", "/ui/login", DESKTOP) in audit.checked
    missing = audit.unchecked(WIDTHS, NOT_PAGES)
    assert "GET /ui/login at 390px" in missing
    assert "GET /ui/login at 1280px" not in missing
    assert "POST /ui/persons/{person_id}/view at 1280px" in missing  # an included router's
    assert not any(m.startswith("GET /ui/static/") for m in missing)

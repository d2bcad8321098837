"""The demo's story, clicked through in a real browser (headless Chromium).

Morgan Sample, who fled domestic abuse with two children, has needs held by five
organisations. In order: Morgan signs in to the consent portal and lets the
council see education records; the council's co-ordinator asks for the joined-up
view and sees needs from several organisations, the school's among them; Morgan
revokes that consent; the co-ordinator asks again and the school's need is gone;
Morgan's "who saw my records" page lists both of the council's views; the
council's auditor finds both views in the audit log and verifies the log.
Along the way the view tells the truth: "held but not released" only where a
holder holds such records, contacts only from organisations that released
something (once each), labels of the circle that never overlap, and a view of Sam
(who has given no consent) that says every organisation answered and declined.
Then the emergency path: the police safeguarding lead asks for a view without
consent on a safeguarding basis (an over-long justification is counted and
refused whole first), it is flagged on the page and in the log, where the police's
auditor and the council's read the written justification; Morgan's portal lists
who looked, when, why and what came from whom, and "who saw my records" names the
basis, and only kinds of record each holder holds. Last, keyboard and phone:
staff reach a view, and Morgan reaches "who saw my records", at 390 px wide
without sideways scrolling. Finally a referral across two nodes: the council's
co-ordinator refers Morgan's son to the refuge, the refuge accepts it naming a
worker and completes it, and the council sees each change arrive. Screenshots of
every step go to test-artifacts/browser/.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from appkit.labels import load_labels
from joinedup.demo.launcher import DemoFederation

pytestmark = [pytest.mark.browser, pytest.mark.e2e]

COUNCIL = "northdale-council"
SCHOOL = "hillcrest-school"
POLICE = "northdale-police"
CONSENT_CARDS = "[data-testid^='consent-cns_']"


def _shot(page: Any, artifacts: Path, name: str) -> None:
    page.screenshot(path=str(artifacts / f"{name}.png"), full_page=True)


def _staff_sign_in(page: Any, base_url: str, username: str, password: str) -> None:
    page.goto(f"{base_url}/ui/login")
    page.fill("#username", username)
    page.fill("#password", password)
    page.get_by_test_id("login-form").locator("button[type=submit]").click()
    page.wait_for_load_state()
    assert page.get_by_test_id("login-error").count() == 0


def _customer_sign_in(page: Any, base_url: str, username: str, password: str) -> None:
    page.goto(f"{base_url}/portal/login")
    page.fill("#username", username)
    page.fill("#password", password)
    page.get_by_test_id("login-form").locator("button[type=submit]").click()
    page.wait_for_load_state()
    assert page.get_by_test_id("login-error").count() == 0


def _consent_ids(page: Any) -> set[str]:
    ids = page.locator(CONSENT_CARDS).evaluate_all(
        "els => els.map(e => e.dataset.testid.slice('consent-'.length))"
    )
    return set(ids)


def _held(demo: DemoFederation, person: str) -> dict[str, set[str]]:
    """Organisation -> the categories it holds records of for ``person`` (the seed's truth)."""
    held: dict[str, set[str]] = {}
    for org_id, records in demo.scenario.records.items():
        for record in records:
            if record.person == person:
                categories = held.setdefault(org_id, set())
                categories |= {need.category for need in record.needs}
                if record.contacts:
                    categories.add("contact_details")
    return held


def _label_boxes_overlap(page: Any) -> list[Any]:
    """Pairs of circle-of-need labels whose rendered boxes overlap (none, we hope)."""
    return page.evaluate(
        """() => {
          const svg = 'svg.circle-of-need';
          const boxes = [...document.querySelectorAll(`${svg} g.need, ${svg} g.gap`)]
            .map(g => [...g.querySelectorAll('text.need-label, text.need-status')]
              .map(t => t.getBoundingClientRect())
              .reduce((a, r) => ({l: Math.min(a.l, r.left), t: Math.min(a.t, r.top),
                                 r: Math.max(a.r, r.right), b: Math.max(a.b, r.bottom)}),
                      {l: Infinity, t: Infinity, r: -Infinity, b: -Infinity}));
          const hits = [];
          boxes.forEach((a, i) => boxes.slice(i + 1).forEach(b => {
            if (a.l < b.r && b.l < a.r && a.t < b.b && b.t < a.b) hits.push([a, b]);
          }));
          return hits;
        }"""
    )


def _request_view(page: Any, base_url: str, family_name: str) -> set[str]:
    """Find the person, ask for the care-coordination view; the orgs whose needs show."""
    page.goto(f"{base_url}/ui/persons?q={family_name}")
    page.get_by_test_id("person-results").locator("a").first.click()
    page.get_by_test_id("request-view-link").click()
    page.select_option("#purpose", "care_coordination")
    page.get_by_test_id("request-view-submit").click()
    page.get_by_test_id("circle-of-need").wait_for()
    orgs = page.locator("[data-testid^='need-'][data-org]").evaluate_all(
        "els => els.map(e => e.dataset.org)"
    )
    return set(orgs)


def test_consent_grant_and_revocation_drive_the_joined_up_view(
    chromium_browser: Any, demo: DemoFederation, artifacts: Path
) -> None:
    password = demo.scenario.password
    consent_url = demo.url("consent")
    council_url = demo.url(COUNCIL)
    customer = chromium_browser.new_context(viewport={"width": 1280, "height": 900})
    staff = chromium_browser.new_context(viewport={"width": 1280, "height": 900})
    auditor = chromium_browser.new_context(viewport={"width": 1280, "height": 900})
    try:
        portal = customer.new_page()
        _customer_sign_in(portal, consent_url, "morgan", password)
        before = _consent_ids(portal)
        assert before, "the seed grants Morgan's initial consent"
        _shot(portal, artifacts, "01-portal-consents")

        # Morgan lets the council see education records (the school's section).
        portal.get_by_test_id("nav-grant").click()
        # README step 3: the reason and "see" are already ticked; tick the rest.
        expect(portal.get_by_test_id("purpose-care_coordination")).to_be_checked()
        expect(portal.get_by_test_id("action-read")).to_be_checked()
        portal.check(f"[data-testid='org-{COUNCIL}']")
        portal.check("[data-testid='category-education']")
        _shot(portal, artifacts, "02-portal-grant-form")
        portal.get_by_test_id("grant-submit").click()
        expect(portal.locator(CONSENT_CARDS)).to_have_count(len(before) + 1)
        granted = _consent_ids(portal) - before
        assert len(granted) == 1, granted
        (education_consent,) = granted
        _shot(portal, artifacts, "03-portal-granted")

        council = staff.new_page()
        _staff_sign_in(council, council_url, "coordinator", password)
        # The header names the co-ordinator, not their login name.
        expect(council.get_by_test_id("nav-account")).to_contain_text("Cody Coordinator (demo)")
        orgs = _request_view(council, council_url, "Sample")
        _shot(council, artifacts, "04-view-with-school")
        council.screenshot(path=str(artifacts / "04-view-top.png"))  # the README's picture
        assert len(orgs) >= 4, orgs
        assert SCHOOL in orgs
        assert council.get_by_test_id(f"source-status-{SCHOOL}").count() == 1
        assert _label_boxes_overlap(council) == []
        # The school released its record, so its safeguarding lead may be named.
        expect(council.get_by_test_id("contacts")).to_contain_text("Eve Example")

        # Morgan withdraws it; the push reaches the nodes and the next view obeys.
        portal.get_by_test_id(f"revoke-{education_consent}").click()
        portal.get_by_test_id("confirm-revoke").click()
        revoked = portal.get_by_test_id(f"consent-{education_consent}")
        expect(revoked).not_to_have_attribute("data-status", "active")
        # It now sits apart from the consents in force, dated and in the past tense.
        expect(
            portal.get_by_test_id("ended-consents").get_by_test_id(f"consent-{education_consent}")
        ).to_have_count(1)
        expect(
            portal.get_by_test_id("active-consents").get_by_test_id(f"consent-{education_consent}")
        ).to_have_count(0)
        expect(revoked.get_by_test_id("consent-state")).to_contain_text("Revoked on ")
        expect(revoked).to_contain_text("until you revoked it on ")
        expect(revoked).not_to_contain_text("until you revoke it")
        _shot(portal, artifacts, "05-portal-revoked")

        orgs_after = _request_view(council, council_url, "Sample")
        _shot(council, artifacts, "06-view-without-school")
        assert SCHOOL not in orgs_after
        assert orgs_after >= (orgs - {SCHOOL})

        # What was not released tells the truth: "held but not released" only for
        # records the holder holds (the school's education record, now without
        # consent); what no agreement covers is one collapsed line per organisation.
        held = _held(demo, "morgan")
        withheld = council.locator("[data-testid^='withheld-']").evaluate_all(
            "els => els.map(e => [e.dataset.org, e.dataset.category])"
        )
        assert [SCHOOL, "education"] in withheld
        for org, category in withheld:
            assert category in held.get(org, set()), f"{org} is said to hold {category}"
        expect(council.get_by_test_id("not-covered")).to_have_count(1)
        assert council.get_by_test_id("not-covered").evaluate("e => e.open") is False
        expect(council.get_by_test_id("not-released")).not_to_contain_text("hold something")
        # Who to contact: the co-ordinator once, and nobody from the school, which
        # released nothing else now (naming its lead would reveal the children's school).
        contacts = council.get_by_test_id("contacts")
        assert contacts.inner_text().count("Nia Placeholder") == 1
        expect(contacts).not_to_contain_text("Eve Example")
        # Plain words for staff: no view id.
        expect(council.get_by_test_id("view-subtitle")).not_to_contain_text("view_")

        # Morgan opens "who saw my records": both of the council's views are there,
        # each checked against the logs, and every organisation answered.
        portal.get_by_test_id("nav-access").click()
        council_group = portal.locator(f"[data-testid='access-org'][data-org='{COUNCIL}']")
        expect(council_group.get_by_role("heading")).to_contain_text("Northdale Council")
        council_views = council_group.locator("[data-kind='view_requested']")
        expect(council_views).to_have_count(2)
        # Today's entries are one collapsed day: opening it shows them.
        expect(council_views.first).to_be_hidden()
        council_views.first.locator("xpath=ancestor::details").locator("summary").click()
        expect(council_views.first).to_be_visible()
        expect(council_views.first).to_contain_text("care co-ordination")
        proof = council_views.first.get_by_test_id("access-proof")
        expect(proof).to_have_attribute("data-proof", "ok")
        expect(proof).to_contain_text("log, which cannot be changed without it showing")
        expect(portal.get_by_test_id("access-incomplete")).to_have_count(0)
        page_text = portal.locator("main").inner_text()
        assert "UTC" not in page_text
        assert "proof" not in page_text.lower()
        _shot(portal, artifacts, "06b-portal-who-saw-my-records")

        audit = auditor.new_page()
        _staff_sign_in(audit, council_url, "auditor", password)
        audit.get_by_test_id("nav-audit").click()
        audit.wait_for_load_state()
        views = audit.locator("[data-testid^='audit-entry-'][data-kind='view_requested']")
        expect(views).to_have_count(2)
        audit.get_by_test_id("audit-verify").click()
        result = audit.get_by_test_id("audit-verify-result")
        result.wait_for()
        _shot(audit, artifacts, "07-audit-verified")
        assert result.get_attribute("data-ok") == "true", result.inner_text()

        # Sam has given no consent: every organisation answers and declines, and the
        # page says exactly that, and says what became of consent in plain words.
        _request_view(council, council_url, "Dummy")
        banner = council.get_by_test_id("incomplete-notice")
        expect(banner).to_contain_text("Every organisation answered.")
        expect(banner).not_to_contain_text("Not every")
        expect(council.get_by_test_id("consent-notice")).to_contain_text(
            "No consent covers this view"
        )
        expect(council.locator("main")).not_to_contain_text("no_consent")
        _shot(council, artifacts, "08-view-nobody-may-share")
    finally:
        for context in (customer, staff, auditor):
            context.close()


def test_emergency_view_is_flagged_to_staff_and_auditors(
    chromium_browser: Any, demo: DemoFederation, artifacts: Path
) -> None:
    password = demo.scenario.password
    police_url = demo.url(POLICE)
    staff = chromium_browser.new_context(viewport={"width": 1280, "height": 900})
    auditor = chromium_browser.new_context(viewport={"width": 1280, "height": 900})
    customer = chromium_browser.new_context(viewport={"width": 390, "height": 844})
    try:
        page = staff.new_page()
        _staff_sign_in(page, police_url, "safeguarding", password)
        page.goto(f"{police_url}/ui/persons?q=Sample")
        page.get_by_test_id("person-results").locator("a").first.click()
        page.get_by_test_id("request-view-link").click()
        page.select_option("#purpose", "safeguarding")
        page.select_option("#emergency_basis", "safeguarding")
        # Too long: the count says so as it is typed, and the form refuses it whole.
        expect(page.get_by_test_id("justification-count")).to_contain_text(
            "You have 4,000 characters remaining"
        )
        page.fill("#justification", "Credible threat reported tonight. " + "x" * 4016)
        expect(page.get_by_test_id("justification-count")).to_contain_text(
            "You have 50 characters too many"
        )
        page.get_by_test_id("request-view-submit").click()
        expect(page.get_by_test_id("error-summary")).to_contain_text("Shorten it by 50 characters")
        assert len(page.input_value("#justification")) == 4050  # given back whole, not cut
        page.fill("#justification", "Credible threat reported tonight; children may be at risk.")
        page.get_by_test_id("request-view-submit").click()
        expect(page.get_by_test_id("emergency-banner")).to_be_visible()
        orgs = page.locator("[data-testid^='need-'][data-org]").evaluate_all(
            "els => els.map(e => e.dataset.org)"
        )
        assert len(set(orgs)) >= 4, orgs
        _shot(page, artifacts, "01-emergency-view")

        audit = auditor.new_page()
        _staff_sign_in(audit, police_url, "auditor", password)
        audit.get_by_test_id("nav-audit").click()
        flagged = audit.locator("[data-testid^='audit-entry-'][data-kind='view_requested']")
        expect(flagged.get_by_test_id("emergency-flag")).to_have_count(1)
        # The auditor reads the basis and the written justification (issue 11, item 1),
        # in words: no raw role or organisation ids in the row.
        why = flagged.get_by_test_id("audit-justification")
        expect(why).to_contain_text("Credible threat reported tonight")
        expect(why).to_contain_text("Safeguarding a child or adult at risk")
        expect(flagged).to_contain_text("Safeguarding lead")
        expect(flagged).not_to_contain_text("safeguarding_lead")
        # The table fits its column at 1280 px: nothing is cut off to the right.
        fits = audit.get_by_test_id("audit-entries").evaluate(
            "t => t.parentElement.scrollWidth <= t.parentElement.clientWidth"
        )
        assert fits, "the audit table is wider than its container at 1280 px"
        # "Who is this?" names the police's own staff member, and is itself audited.
        flagged.get_by_test_id("audit-who-button").click()
        expect(audit.get_by_test_id("audit-who")).to_contain_text("Sasha Safeguarding")
        _shot(audit, artifacts, "02-emergency-audited")

        # Every holder's auditor reads the same justification in its own log.
        holder_audit = auditor.new_page()
        _staff_sign_in(holder_audit, demo.url(COUNCIL), "auditor", password)
        holder_audit.goto(f"{demo.url(COUNCIL)}/ui/audit?emergency=yes&kind=share_decided")
        answered = holder_audit.locator("[data-testid^='audit-entry-'][data-kind='share_decided']")
        expect(answered.first.get_by_test_id("audit-justification")).to_contain_text(
            "Credible threat reported tonight"
        )
        _shot(holder_audit, artifacts, "02b-emergency-audited-at-a-holder")
        # On a phone each entry is a card: the table needs no sideways scrolling.
        holder_audit.set_viewport_size({"width": 390, "height": 844})
        fits = holder_audit.get_by_test_id("audit-entries").evaluate(
            "t => t.parentElement.scrollWidth <= t.parentElement.clientWidth"
        )
        assert fits, "the audit table scrolls sideways at 390 px"
        _shot(holder_audit, artifacts, "02c-emergency-audited-on-a-phone")

        # The notify_customer obligation: Morgan is told, and can mark it read.
        portal = customer.new_page()
        _customer_sign_in(portal, demo.url("consent"), "morgan", password)
        notice = portal.get_by_test_id("emergency-notice").filter(has_text="Northdale Police")
        expect(notice).to_have_count(1)
        # Who looked and when (UK time), why, and a line per organisation released from.
        expect(notice.get_by_role("heading")).to_contain_text(
            "Northdale Police looked at your records on "
        )
        expect(notice.get_by_test_id("notice-why")).to_have_text(
            "To protect you or someone else from harm (safeguarding)"
        )
        released = notice.get_by_test_id("notice-released").locator("li")
        assert released.count() >= 2, released.all_inner_texts()
        expect(released.first).to_contain_text("From ")
        expect(notice).to_contain_text("your contact details")  # the address went out
        expect(notice).not_to_contain_text("itself")
        expect(notice).not_to_contain_text("held by")
        expect(notice).not_to_contain_text("UTC")
        _shot(portal, artifacts, "03-emergency-notice")
        notice.get_by_role("button", name="I have read this").click()
        expect(portal.get_by_test_id("flash")).to_contain_text("marked as read")
        expect(portal.get_by_test_id("emergency-notice")).to_have_count(0)
        # "Who saw my records" names the emergency basis the police invoked.
        portal.get_by_test_id("nav-access").click()
        expect(portal.get_by_test_id("access-emergency-basis").first).to_contain_text(
            "To protect you or someone else from harm (safeguarding)"
        )

        # "Who saw my records" lists what each holder actually sent, never a kind of
        # record it does not hold (the surgery holds no housing or education records,
        # though the safeguarding basis would have allowed them).
        expect(portal.get_by_test_id("access-report")).to_be_visible()
        held = _held(demo, "morgan")
        words = load_labels().families["customer_categories"]
        rows = portal.locator("li[data-kind='share_decided']").evaluate_all(
            "rows => rows.map(r => [r.textContent,"
            " r.querySelector('[data-testid=access-sent]').textContent])"
        )
        checked = 0
        for org in demo.scenario.organisations:
            not_held = [w for c, w in words.items() if c not in held.get(org.org_id, set())]
            for text, sent in rows:
                if f"held by {org.name}" in text:
                    checked += 1
                    assert not [w for w in not_held if w in sent], (org.name, sent)
        assert checked, "the police's emergency view asked other holders"
        _shot(portal, artifacts, "04-who-saw-my-records-after-the-emergency")
    finally:
        for context in (staff, auditor, customer):
            context.close()


def _tab_to(page: Any, selector: str, limit: int = 40) -> None:
    """Press Tab until ``selector`` has the focus (a keyboard user's way there)."""
    for _ in range(limit):
        page.keyboard.press("Tab")
        if page.evaluate("s => document.activeElement?.matches(s) ?? false", selector):
            # Keyboard focus must be visible (joinedup.css :focus-visible).
            style = page.evaluate(
                "() => { const c = getComputedStyle(document.activeElement);"
                " return [c.outlineStyle, c.boxShadow]; }"
            )
            assert style != ["none", "none"], f"{selector} has no visible focus"
            return
    raise AssertionError(f"{limit} presses of Tab never reached {selector}")


def _keyboard_sign_in(page: Any, bare_address: str, username: str, password: str) -> None:
    """Open a service's bare address (it leads to its sign-in) and sign in by keyboard."""
    page.goto(bare_address)
    # The username field has the focus on arrival (autofocus); wait for it, or the
    # first keystrokes can land before the browser has applied it.
    expect(page.locator("#username")).to_be_focused()
    page.keyboard.type(username)
    _tab_to(page, "#password")
    page.keyboard.type(password)
    page.keyboard.press("Enter")


def test_staff_reach_a_joined_up_view_by_keyboard_on_a_phone(
    chromium_browser: Any, demo: DemoFederation, artifacts: Path
) -> None:
    council_url = demo.url(COUNCIL)
    phone = chromium_browser.new_context(viewport={"width": 390, "height": 844})
    try:
        page = phone.new_page()
        _keyboard_sign_in(page, f"{council_url}/", "coordinator", demo.scenario.password)
        expect(page.get_by_test_id("nav-persons")).to_be_visible()
        _tab_to(page, "[data-testid='nav-persons']")
        page.keyboard.press("Enter")
        expect(page.locator("#q")).to_be_visible()
        _tab_to(page, "#q")
        page.keyboard.type("Sample")
        page.keyboard.press("Enter")
        expect(page.get_by_test_id("person-results")).to_be_visible()
        _tab_to(page, "[data-testid='person-results'] a")
        page.keyboard.press("Enter")
        expect(page.get_by_test_id("request-view-link")).to_be_visible()
        _tab_to(page, "[data-testid='request-view-link']")
        page.keyboard.press("Enter")
        expect(page.locator("#purpose")).to_be_visible()
        _tab_to(page, "#purpose")
        for _ in range(10):  # a closed <select> steps through its options with the arrows
            if page.eval_on_selector("#purpose", "e => e.value") == "care_coordination":
                break
            page.keyboard.press("ArrowDown")
        assert page.eval_on_selector("#purpose", "e => e.value") == "care_coordination"
        _tab_to(page, "[data-testid='request-view-submit']")
        page.keyboard.press("Enter")
        # On a phone the circle's labels would be a few pixels high: a list replaces it.
        expect(page.get_by_test_id("circle-list")).to_be_visible()
        expect(page.get_by_test_id("circle-of-need")).to_be_hidden()
        expect(page.get_by_test_id("circle-list").locator("li").first).to_contain_text(" · ")
        # Readable on a phone: the page does not scroll sideways.
        overflow = page.evaluate(
            "() => document.documentElement.scrollWidth - document.documentElement.clientWidth"
        )
        assert overflow <= 1, f"the view scrolls sideways by {overflow}px at 390px wide"
        _shot(page, artifacts, "01-view-on-a-phone")
    finally:
        phone.close()


def _page_size(page: Any) -> tuple[int, int]:
    """How far the page scrolls sideways, and how tall it is, in CSS pixels."""
    width, height = page.evaluate(
        "() => [document.documentElement.scrollWidth - document.documentElement.clientWidth,"
        " document.documentElement.scrollHeight]"
    )
    return int(width), int(height)


def test_the_customer_reaches_who_saw_my_records_by_keyboard_on_a_phone(
    chromium_browser: Any, demo: DemoFederation, artifacts: Path
) -> None:
    """After the stories above Morgan's report holds views and an emergency access."""
    phone = chromium_browser.new_context(viewport={"width": 390, "height": 844})
    try:
        page = phone.new_page()
        _keyboard_sign_in(page, demo.url("consent") + "/", "morgan", demo.scenario.password)
        expect(page.get_by_test_id("nav-access")).to_be_visible()
        _tab_to(page, "[data-testid='nav-access']")
        page.keyboard.press("Enter")
        report = page.get_by_test_id("access-report")
        expect(report).to_be_visible()
        groups = page.get_by_test_id("access-org")
        assert groups.count() >= 2, "views by several organisations were recorded"
        # The emergency day is open; an ordinary day opens from the keyboard.
        emergency_day = page.locator("details.access-day[open]").filter(
            has=page.get_by_test_id("access-emergency")
        )
        expect(emergency_day.first).to_be_visible()
        collapsed = _page_size(page)
        # Grouped and collapsed: a few screens, not the ~14,700 px the table took.
        assert collapsed[1] < 6000, f"'who saw my records' is {collapsed[1]}px tall at 390px"
        first_closed = page.locator("details.access-day:not([open])").first
        org = first_closed.locator("xpath=ancestor::section").get_attribute("data-org")
        entry = page.locator(f"section[data-org='{org}'] .access-entry").first
        expect(entry).to_be_hidden()
        _tab_to(page, f"section[data-org='{org}'] details.access-day > summary")
        page.keyboard.press("Enter")
        expect(entry).to_be_visible()
        opened = _page_size(page)
        for width, _ in (collapsed, opened):
            assert width <= 1, f"'who saw my records' scrolls sideways by {width}px at 390px"
        (artifacts / "page-sizes.txt").write_text(
            f"collapsed: {collapsed[1]}px tall; one more day open: {opened[1]}px tall\n"
        )
        _shot(page, artifacts, "01-who-saw-my-records-on-a-phone")
    finally:
        phone.close()


REFUGE = "safe-harbour"
DELIVERY_S = 60.0


def _reload_until_state(page: Any, state: str, timeout_s: float = DELIVERY_S) -> None:
    """Reload the referral page until it shows ``state`` (delivery runs in the background).

    The change travels through the other node's outbox as a signed message, so
    this polls the page a person would reload; it fails with the last state seen.
    """
    deadline = time.monotonic() + timeout_s
    shown = page.get_by_test_id("referral-state")
    while shown.get_attribute("data-state") != state:
        assert time.monotonic() < deadline, f"still {shown.get_attribute('data-state')!r}"
        page.wait_for_timeout(200)
        page.reload()


def test_a_referral_is_sent_accepted_and_completed_across_two_nodes(
    chromium_browser: Any, demo: DemoFederation, artifacts: Path
) -> None:
    password = demo.scenario.password
    council_url, refuge_url = demo.url(COUNCIL), demo.url(REFUGE)
    council_ctx = chromium_browser.new_context(viewport={"width": 1280, "height": 900})
    refuge_ctx = chromium_browser.new_context(viewport={"width": 1280, "height": 900})
    try:
        council = council_ctx.new_page()
        _staff_sign_in(council, council_url, "coordinator", password)
        council.goto(f"{council_url}/ui/persons?q=Sample")
        council.get_by_test_id("person-results").locator("a").first.click()
        council.get_by_test_id("refer-link").click()
        council.select_option("#to_org", REFUGE)
        council.select_option("#category", "mental_health")
        council.get_by_test_id("urgency-urgent").check()
        council.fill(
            "#reason",
            "Robin is anxious about moving school; please add him to the "
            "refuge's young people's counselling group.",
        )
        council.fill("#person_told", "Morgan knows the refuge will contact her about Robin.")
        _shot(council, artifacts, "r1-refer-form")
        council.get_by_test_id("refer-submit").click()
        council.wait_for_load_state()
        expect(council.get_by_test_id("referral-done")).to_be_visible()
        referral_id = council.url.split("/ui/referrals/")[1].split("?")[0]
        _reload_until_state(council, "received")
        _shot(council, artifacts, "r2-council-sent")

        refuge = refuge_ctx.new_page()
        _staff_sign_in(refuge, refuge_url, "coordinator", password)
        refuge.get_by_test_id("nav-referrals-received").click()
        row = refuge.get_by_test_id(f"referral-row-{referral_id}")
        expect(row).to_contain_text("Northdale Council")
        expect(row).to_contain_text("Urgent")
        row.get_by_test_id("referral-link").click()
        expect(refuge.get_by_test_id("referral-reason")).to_contain_text("counselling group")
        refuge.fill("#accepted-worker", "Jo Key-Worker")
        refuge.get_by_test_id("change-accepted-submit").click()
        expect(refuge.get_by_test_id("referral-state")).to_have_attribute("data-state", "accepted")
        _shot(refuge, artifacts, "r3-refuge-accepted")

        _reload_until_state(council, "accepted")
        expect(council.get_by_test_id("referral-worker")).to_have_text("Jo Key-Worker")

        refuge.select_option("#completed-reason_code", "need_met")
        refuge.fill("#completed-note", "Robin joined the group and is settling in.")
        refuge.get_by_test_id("change-completed-submit").click()
        expect(refuge.get_by_test_id("referral-state")).to_have_attribute("data-state", "completed")

        _reload_until_state(council, "completed")
        timeline = council.get_by_test_id("referral-timeline")
        expect(timeline.get_by_test_id("timeline-item")).to_have_count(4)
        expect(timeline).to_contain_text("The need was met")
        expect(timeline).to_contain_text("Robin joined the group")
        _shot(council, artifacts, "r4-council-completed")
        council.get_by_test_id("nav-referrals-sent").click()
        expect(council.get_by_test_id(f"referral-row-{referral_id}")).to_have_attribute(
            "data-state", "completed"
        )
    finally:
        council_ctx.close()
        refuge_ctx.close()

"""The customer portal: sign-in, consents in plain language, grant, revoke, history, access.

Runs against the in-process consent service of ``tests/consent/conftest.py`` (a
signed registry of council, gp and police; revocation pushes recorded).
"""

from __future__ import annotations

import datetime as dt
import re
import uuid
from dataclasses import dataclass
from html import unescape
from pathlib import Path
from typing import Any

import pytest

from appkit.labels import load_labels
from consent.portal.access import AccessEntry, to_entry
from consent.portal.flows import AccessReport, MissingPart
from consent.portal.pages import end_of_day, long_date, today_in_london, when
from consent.portal.wording import provision_sentence
from federation.errors import PeerUnavailable
from tests.consent.conftest import ConsentWorld, InProcessClient, bearer, provision
from tests.fixtures.db import database_out_of_reach

CSRF_INPUT = re.compile(r'name="csrf_token" value="([^"]+)"')
PASSWORD = "correct horse 1"


def csrf_from(html: str) -> str:
    match = CSRF_INPUT.search(html)
    assert match, "page has no CSRF field"
    return match.group(1)


@dataclass
class Portal:
    world: ConsentWorld
    client: InProcessClient
    subject_id: str
    api_token: str
    username: str

    def csrf(self, path: str) -> str:
        return csrf_from(self.client.get(path).text)

    def post_form(self, path: str, data: Any, page: str | None = None) -> Any:
        fields: dict[str, list[str]] = {"csrf_token": [self.csrf(page or path)]}
        for key, value in data.items() if isinstance(data, dict) else data:
            fields.setdefault(key, []).append(value)
        return self.client.post(path, data=fields, follow_redirects=False)


def sign_in(client: InProcessClient, username: str, password: str = PASSWORD) -> Any:
    client._client.cookies.clear()
    token = csrf_from(client.get("/portal/login").text)
    return client.post(
        "/portal/login",
        data={"username": username, "password": password, "csrf_token": token},
        follow_redirects=False,
    )


def new_customer(world: ConsentWorld) -> tuple[str, str, str]:
    """A freshly enrolled subject with an account: (subject id, username, API token)."""
    tag = uuid.uuid4().hex[:10]
    subject_id = world.enrol(family=f"Family{tag}")
    username = f"c{tag}"
    return subject_id, username, world.customer(subject_id, username)


@pytest.fixture
def portal(world: ConsentWorld) -> Portal:
    subject_id, username, api_token = new_customer(world)
    response = sign_in(world.client, username)
    assert response.status_code == 303, response.text
    return Portal(world, world.client, subject_id, api_token, username)


def grant_via_api(portal: Portal, **fields: Any) -> str:
    body = {"provisions": [provision(**fields.pop("provision", {}))], **fields}
    response = portal.client.post("/me/consents", json=body, headers=bearer(portal.api_token))
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


def test_login_page_is_accessible_and_sets_csrf_cookie(world: ConsentWorld) -> None:
    response = world.client.get("/portal/login")
    assert response.status_code == 200
    html = response.text
    assert '<html lang="en-GB">' in html
    assert 'name="viewport"' in html
    assert 'href="#main"' in html
    assert '<label for="username">' in html
    assert '<label for="password">' in html
    assert "joinedup_portal_csrf" in response.headers["set-cookie"]
    assert response.headers["cache-control"] == "no-store"


def test_sign_in_sets_an_httponly_strict_cookie(world: ConsentWorld) -> None:
    _, username, _ = new_customer(world)
    response = sign_in(world.client, username.upper())
    assert response.status_code == 303
    assert response.headers["location"] == "/portal/"
    cookie = next(
        c for c in response.headers.get_list("set-cookie") if c.startswith("joinedup_customer=")
    )
    assert "HttpOnly" in cookie
    assert "SameSite=strict" in cookie
    assert "Path=/portal" in cookie


def test_wrong_password_re_renders_with_401(world: ConsentWorld) -> None:
    _, username, _ = new_customer(world)
    response = sign_in(world.client, username, "not my password")
    assert response.status_code == 401
    assert 'data-testid="login-error"' in response.text


@pytest.mark.parametrize("data", [{}, {"username": "ann"}, {"password": "x"}])
def test_incomplete_sign_in_is_422(world: ConsentWorld, data: dict) -> None:
    token = csrf_from(world.client.get("/portal/login").text)
    response = world.client.post("/portal/login", data={**data, "csrf_token": token})
    assert response.status_code == 422


def test_sign_in_without_csrf_is_refused(world: ConsentWorld) -> None:
    world.client.get("/portal/login")
    response = world.client.post("/portal/login", data={"username": "a", "password": "b"})
    assert response.status_code == 403


def test_signed_out_customer_is_sent_to_sign_in(world: ConsentWorld) -> None:
    for path in ["/portal/", "/portal/consents/new", "/portal/access"]:
        response = world.client.get(path, follow_redirects=False)
        assert response.status_code == 303
        assert response.headers["location"].startswith("/portal/login?next=")


def test_consents_read_as_plain_sentences(portal: Portal) -> None:
    end = dt.datetime(2027, 3, 1, 12, tzinfo=dt.UTC).isoformat()
    consent_id = grant_via_api(
        portal,
        period_end=end,
        provision={"recipients": ["gp"], "categories": ["physical_health"]},
    )
    page = portal.client.get("/portal/")
    assert page.status_code == 200
    assert f'data-testid="consent-{consent_id}"' in page.text
    assert "Gp may see your physical health records for care co-ordination until 1 March 2027." in (
        page.text
    )
    assert f'data-testid="revoke-{consent_id}"' in page.text


def test_grant_form_lists_choices_with_plain_names(portal: Portal) -> None:
    page = portal.client.get("/portal/consents/new")
    assert page.status_code == 200
    assert 'data-testid="org-gp"' in page.text
    assert "Mental health" in page.text
    assert "special category" in page.text
    assert "only shared if you name them yourself" in page.text


def test_grant_through_the_form(portal: Portal) -> None:
    future = (dt.datetime.now(dt.UTC).date() + dt.timedelta(days=90)).isoformat()
    response = portal.post_form(
        "/portal/consents/new",
        [
            ("recipients", "council"),
            ("recipients", "police"),
            ("categories", "housing"),
            ("purposes", "care_coordination"),
            ("actions", "read"),
            ("period_end", future),
            ("grantor_kind", "customer"),
        ],
    )
    assert response.status_code == 303, response.text
    assert response.headers["location"] == "/portal/?done=granted"
    consents = portal.client.get("/me/consents", headers=bearer(portal.api_token)).json()
    assert consents["count"] == 1
    assert consents["data"][0]["provisions"][0]["recipients"] == ["council", "police"]
    page = portal.client.get("/portal/?done=granted")
    assert "Council and Police may see your housing records for care co-ordination" in page.text


def test_an_over_long_advocate_name_is_refused_whole_with_its_length(portal: Portal) -> None:
    form = portal.client.get("/portal/consents/new").text
    field = re.search(r'<input id="grantor_name"[^>]*>', form)
    assert field
    assert "maxlength" not in field.group(0)  # a browser would cut a paste silently
    assert 'data-maxchars="200"' in field.group(0)
    assert "Up to 200 characters." in form
    name = "A" * 230
    response = portal.post_form(
        "/portal/consents/new",
        [
            ("recipients", "gp"),
            ("categories", "housing"),
            ("purposes", "referral"),
            ("actions", "read"),
            ("grantor_kind", "advocate"),
            ("grantor_name", name),
        ],
    )
    assert response.status_code == 422
    assert "The name is 230 characters long; the limit is 200. Shorten it by 30" in response.text
    assert f'value="{name}"' in response.text  # given back whole, not cut


def test_the_bare_address_and_the_favicon_answer(portal: Portal) -> None:
    root = portal.client.get("/", follow_redirects=False)
    assert root.status_code == 303
    assert root.headers["location"] == "/portal/"
    icon = portal.client.get("/favicon.ico")
    assert icon.status_code == 200
    assert icon.headers["content-type"] == "image/x-icon"
    assert '<link rel="icon" href="/favicon.ico">' in portal.client.get("/portal/").text


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ([("categories", "housing"), ("purposes", "referral"), ("actions", "read")], "recipients"),
        (
            [
                ("recipients", "mi6"),
                ("categories", "housing"),
                ("purposes", "referral"),
                ("actions", "read"),
            ],
            "recipients",
        ),
        ([("recipients", "gp"), ("purposes", "referral"), ("actions", "read")], "categories"),
        (
            [
                ("recipients", "gp"),
                ("categories", "gossip"),
                ("purposes", "referral"),
                ("actions", "read"),
            ],
            "categories",
        ),
        ([("recipients", "gp"), ("categories", "housing"), ("actions", "read")], "purposes"),
        ([("recipients", "gp"), ("categories", "housing"), ("purposes", "referral")], "actions"),
        (
            [
                ("recipients", "gp"),
                ("categories", "housing"),
                ("purposes", "referral"),
                ("actions", "read"),
                ("period_end", "yesterday"),
            ],
            "period_end",
        ),
        (
            [
                ("recipients", "gp"),
                ("categories", "housing"),
                ("purposes", "referral"),
                ("actions", "read"),
                ("period_end", "2001-01-01"),
            ],
            "period_end",
        ),
        (
            [
                ("recipients", "gp"),
                ("categories", "housing"),
                ("purposes", "referral"),
                ("actions", "read"),
                ("grantor_kind", "advocate"),
            ],
            "grantor_name",
        ),
        (
            [
                ("recipients", "gp"),
                ("categories", "housing"),
                ("purposes", "referral"),
                ("actions", "read"),
                ("grantor_kind", "cat"),
            ],
            "grantor_kind",
        ),
    ],
)
def test_bad_grant_forms_re_render_with_422(portal: Portal, data: list, field: str) -> None:
    response = portal.post_form("/portal/consents/new", data)
    assert response.status_code == 422
    assert 'data-testid="error-summary"' in response.text
    assert f'href="#{field}"' in response.text
    consents = portal.client.get("/me/consents", headers=bearer(portal.api_token)).json()
    assert consents["count"] == 0


def test_grant_without_csrf_is_refused(portal: Portal) -> None:
    response = portal.client.post(
        "/portal/consents/new",
        data={
            "recipients": "gp",
            "categories": "housing",
            "purposes": "referral",
            "actions": "read",
        },
    )
    assert response.status_code == 403


def test_revoke_asks_first_then_revokes_and_pushes(portal: Portal) -> None:
    consent_id = grant_via_api(portal)
    confirm = portal.client.get(f"/portal/consents/{consent_id}/revoke")
    assert confirm.status_code == 200
    assert 'data-testid="confirm-revoke"' in confirm.text
    still = portal.client.get("/me/consents", headers=bearer(portal.api_token)).json()
    assert still["data"][0]["status"] == "active"

    response = portal.post_form(
        f"/portal/consents/{consent_id}/revoke", {}, page=f"/portal/consents/{consent_id}/revoke"
    )
    assert response.status_code == 303
    after = portal.client.get("/me/consents", headers=bearer(portal.api_token)).json()
    assert after["data"][0]["status"] == "inactive"
    assert portal.world.pushes  # one signed revocation per member node
    page = portal.client.get("/portal/?done=revoked")
    assert "Your consent is revoked" in page.text
    assert f'data-testid="revoke-{consent_id}"' not in page.text


def test_a_revoked_consent_reads_as_revoked_with_its_date_apart_from_those_in_force(
    portal: Portal,
) -> None:
    kept = grant_via_api(portal)
    revoked = grant_via_api(portal)
    portal.post_form(
        f"/portal/consents/{revoked}/revoke", {}, page=f"/portal/consents/{revoked}/revoke"
    )
    page = portal.client.get("/portal/").text
    in_force = page[page.index('data-testid="active-consents"') : page.index("ended-title")]
    ended = page[page.index('data-testid="ended-consents"') :]
    assert f'data-testid="consent-{kept}"' in in_force
    assert f'data-testid="consent-{revoked}"' not in in_force
    found = re.search(rf'data-testid="consent-{revoked}".*?class="card-actions"', ended, re.S)
    assert found, "the revoked consent has no card"
    card = found.group(0)
    today = today_in_london().strftime("%-d %B %Y")
    assert f"Revoked on {today}" in card
    assert f"until you revoked it on {today}." in card
    assert "until you revoke it" not in card
    assert " may " not in card  # past tense: "could", not "may"
    history = portal.client.get(f"/portal/consents/{revoked}/history").text
    assert f"Revoked on {today}" in history


def test_sentences_read_in_the_past_once_a_consent_is_revoked_or_over() -> None:
    labels = load_labels()
    provision = {
        "recipients": ["gp"],
        "actions": ["read"],
        "categories": ["housing"],
        "purposes": ["referral"],
    }
    names = {"gp": "Riverside GP"}
    end = dt.datetime(2027, 3, 1, 23, 59, 59, tzinfo=dt.UTC)
    live = provision_sentence(provision, period_end=end, names=names, labels=labels)
    assert live.startswith("Riverside GP may ")
    assert live.endswith("until 1 March 2027.")
    after = end + dt.timedelta(seconds=1)
    over = provision_sentence(provision, period_end=end, names=names, labels=labels, now=after)
    assert over.startswith("Riverside GP could ")
    assert over.endswith("until 1 March 2027.")
    revoked = provision_sentence(
        provision,
        period_end=None,
        names=names,
        labels=labels,
        revoked_at=dt.datetime(2026, 12, 3, 9, tzinfo=dt.UTC),
    )
    assert revoked.endswith("until you revoked it on 3 December 2026.")


def test_portal_times_are_on_london_clocks() -> None:
    winter = dt.datetime(2026, 12, 1, 23, 30, tzinfo=dt.UTC)
    summer = dt.datetime(2026, 7, 1, 23, 30, tzinfo=dt.UTC)
    assert when(winter) == "1 December 2026 at 23:30"
    assert when(summer) == "2 July 2026 at 00:30"  # BST: already the next day
    assert long_date(summer) == "2 July 2026"
    assert "UTC" not in when("2026-07-01T23:30:00Z")
    # "Until 1 July" keeps the whole of 1 July in London, not until 00:59 BST on the 2nd.
    assert end_of_day(dt.date(2026, 7, 1)) == dt.datetime(2026, 7, 1, 22, 59, 59, tzinfo=dt.UTC)
    assert long_date(end_of_day(dt.date(2026, 7, 1))) == "1 July 2026"


def test_revoke_without_csrf_is_refused(portal: Portal) -> None:
    consent_id = grant_via_api(portal)
    response = portal.client.post(f"/portal/consents/{consent_id}/revoke", data={})
    assert response.status_code == 403
    after = portal.client.get("/me/consents", headers=bearer(portal.api_token)).json()
    assert after["data"][0]["status"] == "active"


def test_someone_elses_consent_is_404(portal: Portal) -> None:
    _, _, other_token = new_customer(portal.world)
    response = portal.client.post(
        "/me/consents", json={"provisions": [provision()]}, headers=bearer(other_token)
    )
    other_id = response.json()["id"]
    sign_in(portal.client, portal.username)
    for path in [
        f"/portal/consents/{other_id}/revoke",
        f"/portal/consents/{other_id}/history",
        "/portal/consents/nope/history",
        "/portal/consents/%00/history",
    ]:
        page = portal.client.get(path)
        assert page.status_code in (404, 422), path
        assert page.headers["content-type"].startswith("text/html")


def test_history_lists_every_event(portal: Portal) -> None:
    consent_id = grant_via_api(portal)
    portal.client.patch(
        f"/me/consents/{consent_id}",
        json={"provisions": [provision(categories=["housing", "income"])]},
        headers=bearer(portal.api_token),
    )
    portal.client.post(f"/me/consents/{consent_id}/revoke", headers=bearer(portal.api_token))
    page = portal.client.get(f"/portal/consents/{consent_id}/history")
    assert page.status_code == 200
    kinds = re.findall(r'data-testid="history-event-\d+" data-kind="(\w+)"', page.text)
    assert kinds == ["granted", "amended", "revoked"]
    assert "your housing records and your income and benefits records" in page.text


def _with_report(portal: Portal, provider: Any) -> Any:
    """GET the access page with ``provider`` installed in place of the real flow."""
    state = portal.world.client.app.state
    real = state.access_report
    state.access_report = provider
    try:
        return portal.client.get("/portal/access")
    finally:
        state.access_report = real


def test_access_report_without_a_report_flow_says_so(portal: Portal) -> None:
    state = portal.world.client.app.state
    real = state.access_report
    del state.access_report
    try:
        page = portal.client.get("/portal/access")
    finally:
        state.access_report = real
    assert page.status_code == 200
    assert 'data-testid="access-unavailable"' in page.text
    assert 'data-testid="access-empty"' not in page.text


def test_the_lifespan_installs_the_report_flow(world: ConsentWorld) -> None:
    from consent.portal.flows import report_for_app

    assert world.client.app.state.access_report is report_for_app


def test_access_report_shows_org_purpose_release_emergency_and_proof(portal: Portal) -> None:
    async def report(app: Any, subject_id: str) -> AccessReport:
        assert subject_id == portal.subject_id
        return AccessReport(
            entries=[
                {
                    "org_id": "council",
                    "kind": "share_decided",
                    "holder_org": "gp",
                    "logged_by": "gp",
                    "at": "2026-11-20T10:00:00Z",
                    "purpose": "care_coordination",
                    "categories": ["mental_health"],
                    "decision": "allow",
                    "emergency": False,
                    "proof_ok": True,
                },
                {
                    "org_id": "police",
                    "kind": "view_requested",
                    "at": "2026-11-21T10:00:00Z",
                    "purpose": "safeguarding",
                    "categories": ["safety"],
                    "decision": "allow",
                    "emergency": True,
                    "proof_ok": False,
                },
            ]
        )

    page = _with_report(portal, report)
    assert page.status_code == 200
    html = page.text
    assert html.index("Police") < html.index("Council")  # newest first
    assert "your mental health records" in html
    assert "Was sent your records held by Gp" in html
    assert "Asked for a joined-up view of your records" in html
    assert 'data-testid="access-emergency"' in html
    assert 'data-proof="failed"' in html
    assert 'data-proof="ok"' in html
    assert 'data-testid="access-incomplete"' not in html
    # Plain words for what the inclusion proof means, not "the proof checked".
    text = " ".join(unescape(re.sub(r"<[^>]+>", " ", html)).split())
    assert "proof" not in text.lower()
    assert "This is in Gp's log, which cannot be changed without it showing." in text
    assert "We could not confirm this is in Police's log." in text
    assert "UTC" not in html
    assert "20 November 2026" in html  # London: GMT in November


def test_the_access_report_is_grouped_by_organisation_then_day(portal: Portal) -> None:
    def entry(org: str, at: str, **extra: Any) -> dict[str, Any]:
        return {"org_id": org, "kind": "view_requested", "at": at, "purpose": "referral", **extra}

    async def report(app: Any, subject_id: str) -> AccessReport:
        return AccessReport(
            entries=[
                entry("council", "2026-11-20T09:00:00Z"),
                entry("police", "2026-11-21T10:00:00Z", emergency=True),
                entry("council", "2026-11-20T15:00:00Z"),
                entry("council", "2026-11-22T08:00:00Z"),
                # 23:30 UTC in July is 00:30 on the 2nd in London.
                entry("gp", "2026-07-01T23:30:00Z"),
            ]
        )

    html = _with_report(portal, report).text
    orgs = re.findall(r'data-testid="access-org" data-org="(\w+)"', html)
    assert orgs == ["council", "police", "gp"]  # by each one's newest entry
    council = html[html.index('data-org="council"') : html.index('data-org="police"')]
    days = re.findall(r'<span class="day">([^<]+)</span>: (\d+) entr', council)
    assert days == [("22 November 2026", "1"), ("20 November 2026", "2")]
    assert "<strong>15:00</strong>" in council
    gp = html[html.index('data-org="gp"') :]
    assert '<span class="day">2 July 2026</span>' in gp
    assert "<strong>00:30</strong>" in gp
    # The emergency day is open; the others are collapsed until opened.
    police = html[
        html.index('data-org="police"') : html.index('data-testid="access-org" data-org="gp"')
    ]
    assert re.search(r'<details class="access-day" open', police)
    assert not re.search(r'<details class="access-day" open', council)
    assert "<table" not in html


def test_organisations_that_did_not_answer_make_the_report_incomplete(portal: Portal) -> None:
    async def report(app: Any, subject_id: str) -> AccessReport:
        return AccessReport(
            entries=[],
            missing=[MissingPart("police", "unavailable"), MissingPart("gp", "invalid")],
        )

    html = _with_report(portal, report).text
    assert 'data-testid="access-incomplete"' in html
    assert re.search(r'data-testid="access-missing-police" data-status="unavailable"', html)
    assert re.search(r'data-testid="access-missing-gp" data-status="invalid"', html)
    assert "<strong>Police</strong>: it did not answer in time." in html
    # Not the reassuring "no organisation has looked" when some could not be asked.
    assert "No organisation has looked at your records" not in html
    assert "None of the organisations that answered" in html


def test_a_member_with_more_entries_than_it_sent_is_named(portal: Portal) -> None:
    async def report(app: Any, subject_id: str) -> AccessReport:
        return AccessReport(entries=[], truncated=["gp"])

    html = _with_report(portal, report).text
    assert 'data-testid="access-truncated"' in html
    assert "Gp recorded more about you than one report can hold" in html
    assert "No organisation has looked at your records" in html  # nobody is missing


def test_a_failing_report_flow_says_the_report_cannot_be_put_together(portal: Portal) -> None:
    async def report(app: Any, subject_id: str) -> AccessReport:
        raise PeerUnavailable("registry unreadable")

    page = _with_report(portal, report)
    assert page.status_code == 200
    assert 'data-testid="access-unavailable"' in page.text


def test_the_real_flow_lists_nodes_whose_answers_fail_their_checks(portal: Portal) -> None:
    """The in-process world's nodes answer every POST with a non-report: all invalid."""
    html = portal.client.get("/portal/access").text
    statuses = dict(re.findall(r'data-testid="access-missing-(\w+)" data-status="(\w+)"', html))
    assert statuses == {"council": "invalid", "gp": "invalid", "police": "invalid"}
    asked = {p["url"] for p in portal.world.pushes}
    assert asked == {f"http://{org}.test/federation/audit/subject-report" for org in statuses}


def test_access_entry_reader_tolerates_other_spellings() -> None:
    entry = to_entry(
        {
            "holder_org": "gp",
            "recorded_at": 1764000000,
            "purpose": "referral",
            "proof_verified": True,
        },
        {"gp": "Riverside GP"},
    )
    assert entry.org_name == "Riverside GP"
    assert entry.proof_ok is True
    assert entry.at is not None


def test_the_access_report_names_the_emergency_basis_but_not_the_justification(
    portal: Portal,
) -> None:
    async def report(app: Any, subject_id: str) -> AccessReport:
        return AccessReport(
            entries=[
                {
                    "org_id": "police",
                    "kind": "view_requested",
                    "at": "2026-11-21T10:00:00Z",
                    "purpose": "safeguarding",
                    "decision": "allow",
                    "emergency": True,
                    "emergency_basis": "safeguarding",
                    "justification": "Credible threat reported tonight",
                    "proof_ok": True,
                }
            ]
        )

    html = _with_report(portal, report).text
    basis = re.search(r'data-testid="access-emergency-basis">([^<]*)<', html)
    assert basis is not None
    assert basis.group(1) == "To protect you or someone else from harm (safeguarding)"
    assert "Credible threat" not in html


def _notice(portal: Portal, sender: str = "police", **fields: Any) -> Any:
    notice = {
        "subject_id": portal.subject_id,
        "kind": "emergency_access",
        "view_id": f"view_{uuid.uuid4().hex}",
        "basis": "safeguarding",
        "purpose": "safeguarding",
        "holders": ["gp"],
        "categories": ["safety"],
        "occurred_at": "2026-11-23T19:52:00Z",
        **fields,
    }
    recorded = portal.world.signed("/federation/notices", "notify_customer", notice, sender)
    assert recorded.status_code == 201, recorded.text
    return recorded


def _notice_items(html: str) -> list[str]:
    return re.findall(r'<li data-testid="emergency-notice">(.*?)</form>', html, re.S)


def test_an_emergency_access_notice_is_shown_until_read(portal: Portal) -> None:
    recorded = _notice(portal)
    home = portal.client.get("/portal/")
    [item] = _notice_items(home.text)
    assert "Police looked at your records on 23 November 2026 at 19:52" in item  # GMT
    notice_id = recorded.json()["id"]
    refused = portal.client.post(f"/portal/notices/{notice_id}/read", data={})
    assert refused.status_code == 403  # no CSRF token
    read = portal.post_form(f"/portal/notices/{notice_id}/read", {}, page="/portal/")
    assert read.status_code == 303
    assert 'data-testid="emergency-notice"' not in portal.client.get("/portal/").text


def test_an_emergency_notice_lists_who_when_why_and_what_from_whom(portal: Portal) -> None:
    _notice(
        portal,
        holders=["gp", "police"],
        categories=["contact_details", "physical_health", "safety"],
        released={"gp": ["contact_details", "physical_health"], "police": ["safety"]},
        occurred_at="2026-07-23T19:52:00Z",
    )
    [item] = _notice_items(portal.client.get("/portal/").text)
    # Summer: London is on BST, an hour ahead of the stored UTC time.
    assert "Police looked at your records on 23 July 2026 at 20:52" in item
    assert "To protect you or someone else from harm (safeguarding)" in item
    released = [unescape(r) for r in re.findall(r"<li>(From [^<]*)</li>", item)]
    assert released == [
        "From Police's own records: your safety records",
        "From Gp: your contact details and your physical health records",
    ]
    assert "itself" not in item
    assert "held by" not in item


def test_a_notice_without_a_per_holder_list_still_names_every_holder(portal: Portal) -> None:
    _notice(portal, holders=["council", "gp"], categories=["housing"])
    [item] = _notice_items(portal.client.get("/portal/").text)
    assert re.findall(r"<li>(From [^<]*)</li>", item) == [
        "From Council and Gp: your housing records"
    ]


def test_a_refused_share_of_a_nodes_own_records_does_not_say_they_were_used() -> None:
    def own(decision: str) -> str:
        return AccessEntry(
            org_id="police",
            org_name="Northdale Police",
            at=None,
            purpose="safeguarding",
            decision=decision,
            kind="share_decided",
            holder_name="Northdale Police",
        ).what_happened

    assert own("allow") == "Used its own records about you in the view"
    assert own("deny") == "Did not use its own records about you in the view"


def test_a_portal_page_on_a_failing_database_is_a_plain_503_page(
    portal: Portal, tmp_path: Path
) -> None:
    html = {"Accept": "text/html,application/xhtml+xml,*/*;q=0.8"}
    with database_out_of_reach(portal.client.app, tmp_path):
        page = portal.client.get("/portal/", headers=html)
    assert page.status_code == 503
    assert page.headers["content-type"].startswith("text/html")
    assert page.headers["retry-after"].isdigit()
    assert "This service is busy" in page.text
    assert "Nothing was changed or shared" in page.text
    assert "OperationalError" not in page.text
    assert "sqlite" not in page.text.lower()
    assert portal.client.get("/portal/", headers=html).status_code == 200

"""The person pages, the view request form and the view page with its circle of need.

The view flow itself (fan-out to partners) is tested by the federation tests; here
``obtain_view`` is replaced by a fixed ``JoinedUpView`` so the page is checked
against known content: one SVG node per need, coloured by organisation, gaps for
sources that did not share, the emergency banner, and the lists below.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import pytest

from federation.view import JoinedUpView
from node.web import views as web_views
from tests.node.web.conftest import WebNode

JUSTIFICATION = "Risk of serious harm tonight; she cannot be reached to consent."


def sample_view(*, emergency: bool = False, **changes: Any) -> JoinedUpView:
    def need(org: str, name: str, ref: int, category: str, status: str = "open") -> dict:
        return {
            "ref": f"{org}:need:{ref}",
            "category": category,
            "description": f"{category} need at {name}",
            "severity": "high" if ref == 1 else "medium",
            "status": status,
            "since": "2026-09-01",
            "org_id": org,
            "org_name": name,
        }

    obligations = [{"obligation": "notify_customer", "org_id": "gp-riverside"}]
    if emergency:
        obligations.append({"obligation": "flag_emergency", "org_id": "gp-riverside"})
    return JoinedUpView.model_validate(
        {
            "view_id": "view_test",
            "subject_id": "subj_grace",
            "purpose": "care_coordination",
            "generated_at": dt.datetime(2026, 11, 23, 12, 0, tzinfo=dt.UTC),
            "emergency": emergency,
            "complete": False,
            "needs": [
                {"category": "housing", "needs": [need("council-a", "Council A", 1, "housing")]},
                {"category": "income", "needs": [need("council-a", "Council A", 2, "income")]},
                {
                    "category": "mental_health",
                    "needs": [
                        need("gp-riverside", "Riverside GP", 3, "mental_health", "in_progress")
                    ],
                },
            ],
            "actions": [
                {
                    "ref": "council-a:action:1",
                    "category": "housing",
                    "what": "Apply for discretionary housing payment",
                    "owner": "Asha",
                    "status": "active",
                    "due": "2026-12-01",
                    "org_id": "council-a",
                    "org_name": "Council A",
                }
            ],
            "contacts": [
                {
                    "worker_name": "Asha Patel",
                    "role": "Care co-ordinator",
                    "how_to_reach": "0113 000 0000",
                    "organisation": "Council A",
                    "org_id": "council-a",
                }
            ],
            "coordinator": {
                "worker_name": "Asha Patel",
                "role": "Care co-ordinator",
                "how_to_reach": "0113 000 0000",
                "organisation": "Council A",
                "org_id": "council-a",
            },
            "interacting_needs": [
                {
                    "rule_id": "income_housing",
                    "categories": ["income", "housing"],
                    "note": "Lost income puts the tenancy at risk.",
                    "need_refs": ["council-a:need:1", "council-a:need:2"],
                    "organisations": ["council-a"],
                }
            ],
            "withheld": [
                {
                    "category": "physical_health",
                    "org_id": "gp-riverside",
                    "org_name": "Riverside GP",
                    "reason": "special category data needs explicit consent",
                }
            ],
            "not_covered": [
                {
                    "org_id": "school-park",
                    "org_name": "Park School",
                    "categories": ["housing", "safety"],
                }
            ],
            "obligations": obligations,
            "sources": [
                {
                    "org_id": "council-a",
                    "org_name": "Council A",
                    "org_kind": "council",
                    "status": "ok",
                    "latency_ms": 12.4,
                },
                {
                    "org_id": "gp-riverside",
                    "org_name": "Riverside GP",
                    "org_kind": "gp",
                    "status": "ok",
                    "latency_ms": 40.0,
                },
                {
                    "org_id": "police-north",
                    "org_name": "North Police",
                    "org_kind": "police",
                    "status": "unavailable",
                    "latency_ms": 2000.0,
                    "reason": "timed out",
                },
                {
                    "org_id": "school-park",
                    "org_name": "Park School",
                    "org_kind": "school",
                    "status": "denied",
                    "latency_ms": 30.0,
                    "reason": "no agreement",
                },
            ],
        }
        | changes
    )


@pytest.fixture
def fixed_view(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    calls: list[dict[str, Any]] = []

    async def fake_obtain_view(**kwargs: Any) -> JoinedUpView:
        calls.append(kwargs)
        return sample_view(emergency=bool(kwargs.get("emergency_basis")))

    monkeypatch.setattr(web_views, "obtain_view", fake_obtain_view)
    return calls


def post_view(node: WebNode, data: dict[str, str], person_id: int | None = None):
    pid = person_id or node.person_id
    token = node.csrf(f"/ui/persons/{pid}/view")
    return node.client.post(f"/ui/persons/{pid}/view", data={**data, "csrf_token": token})


def test_search_finds_a_person_by_name(web_node: WebNode) -> None:
    client = web_node.as_role("frontline")
    page = client.get("/ui/persons", params={"q": "grace okafor"})
    assert page.status_code == 200
    assert f'data-testid="person-{web_node.person_id}"' in page.text
    assert 'role="search"' in page.text


def test_search_with_odd_input_never_fails(web_node: WebNode) -> None:
    client = web_node.as_role("frontline")
    for q in ["%", "_", "'; drop table person; --", "\u0000", "é" * 150]:
        assert client.get("/ui/persons", params={"q": q}).status_code in (200, 422)
    assert client.get("/ui/persons", params={"q": "x" * 500}).status_code == 422
    assert client.get("/ui/persons", params={"page": "-3", "q": "a"}).status_code == 422


def test_person_page_shows_own_needs_and_view_link(web_node: WebNode) -> None:
    client = web_node.as_role("coordinator")
    page = client.get(f"/ui/persons/{web_node.person_id}")
    assert page.status_code == 200
    assert "Rent arrears after job loss" in page.text
    assert 'data-testid="request-view-link"' in page.text


def test_missing_person_is_a_404_page(web_node: WebNode) -> None:
    client = web_node.as_role("frontline")
    for path in ["/ui/persons/999999", "/ui/persons/999999/view"]:
        response = client.get(path)
        assert response.status_code == 404
        assert response.headers["content-type"].startswith("text/html")
    assert client.get("/ui/persons/not-a-number").status_code == 422


def test_view_form_lists_purposes_and_emergency_bases(web_node: WebNode) -> None:
    client = web_node.as_role("coordinator")
    page = client.get(f"/ui/persons/{web_node.person_id}/view")
    assert page.status_code == 200
    assert '<label for="purpose">' in page.text
    assert 'value="care_coordination"' in page.text
    assert 'value="service_planning"' not in page.text
    assert 'value="vital_interests"' in page.text


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({}, "Choose the purpose"),
        ({"purpose": "world_domination"}, "Choose the purpose"),
        ({"purpose": "service_planning"}, "Choose the purpose"),
        ({"purpose": "safeguarding", "emergency_basis": "because"}, "listed emergency bases"),
        ({"purpose": "safeguarding", "emergency_basis": "vital_interests"}, "justification"),
        (
            {
                "purpose": "safeguarding",
                "emergency_basis": "vital_interests",
                "justification": "too short",
            },
            "justification",
        ),
        (
            {"purpose": "safeguarding", "justification": "x" * 5000},
            "The justification is 5,000 characters long; the limit is 4,000. Shorten it by 1,000",
        ),
    ],
)
def test_bad_view_requests_re_render_the_form(
    web_node: WebNode, fixed_view: list, data: dict, message: str
) -> None:
    web_node.as_role("coordinator")
    response = post_view(web_node, data)
    assert response.status_code == 422
    assert 'data-testid="error-summary"' in response.text
    assert message in response.text
    assert fixed_view == []


EMERGENCY = {"purpose": "safeguarding", "emergency_basis": "vital_interests"}


def test_the_justification_limit_is_stated_counted_and_never_cut(
    web_node: WebNode, fixed_view: list
) -> None:
    client = web_node.as_role("coordinator")
    page = client.get(f"/ui/persons/{web_node.person_id}/view").text
    assert "at most 4,000 characters" in page
    textarea = re.search(r"<textarea[^>]*>", page)
    assert textarea
    assert "maxlength" not in textarea.group(0)  # a browser would cut a paste silently
    assert 'data-maxchars="4000"' in textarea.group(0)
    assert 'id="justification-count"' in page
    assert '<script src="/assets/charcount.js" defer></script>' in page
    # The whole over-long text comes back to be shortened, not a cut copy.
    long_text = "Found at home; " + "y" * 3990
    response = post_view(
        web_node,
        {
            "purpose": "safeguarding",
            "emergency_basis": "vital_interests",
            "justification": long_text,
        },
    )
    assert response.status_code == 422
    assert "Shorten it by 5 characters" in response.text
    assert long_text in response.text
    assert fixed_view == []


def test_a_line_break_counts_as_one_character_as_the_page_counts_it(
    web_node: WebNode, fixed_view: list
) -> None:
    web_node.as_role("coordinator")
    text = "Collapsed at home, history needed.\r\n" + "z" * (4000 - 35)
    response = post_view(
        web_node,
        {"purpose": "safeguarding", "emergency_basis": "vital_interests", "justification": text},
    )
    assert "limit is 4,000" not in response.text
    assert len(fixed_view) == 1
    assert fixed_view[0]["justification"] == text.replace("\r\n", "\n")


def test_view_of_unenrolled_person_is_refused(web_node: WebNode, fixed_view: list) -> None:
    web_node.as_role("coordinator")
    response = post_view(
        web_node, {"purpose": "care_coordination"}, person_id=web_node.unlinked_person_id
    )
    assert response.status_code == 422
    assert fixed_view == []


def test_view_request_without_csrf_is_refused(web_node: WebNode, fixed_view: list) -> None:
    client = web_node.as_role("coordinator")
    response = client.post(
        f"/ui/persons/{web_node.person_id}/view", data={"purpose": "care_coordination"}
    )
    assert response.status_code == 403
    assert fixed_view == []


def test_view_page_opens_with_the_circle_of_need(web_node: WebNode, fixed_view: list) -> None:
    web_node.as_role("coordinator")
    response = post_view(web_node, {"purpose": "care_coordination"})
    assert response.status_code == 200, response.text
    html = response.text
    assert fixed_view[0]["subject_id"] == "subj_grace"
    assert fixed_view[0]["purpose"] == "care_coordination"
    # The picture comes before the lists.
    assert html.index('data-testid="circle-of-need"') < html.index('id="needs-title"')
    svg = html[html.index('<svg class="circle-of-need"') : html.index("</svg>")]
    assert '<title id="circle-title">' in svg
    assert '<desc id="circle-desc">' in svg
    assert 'role="img"' in svg
    nodes = re.findall(r'<g class="need (org-\d) [^"]*" data-testid="need-([^"]+)"', svg)
    assert sorted(ref for _, ref in nodes) == [
        "council-a:need:1",
        "council-a:need:2",
        "gp-riverside:need:3",
    ]
    colour = {ref: cls for cls, ref in nodes}
    # Colours follow organisation name order: Council A, North Police, Park School, Riverside GP.
    assert colour["council-a:need:1"] == colour["council-a:need:2"] == "org-0"
    assert colour["gp-riverside:need:3"] == "org-3"
    assert 'data-testid="gap-police-north" data-org="police-north" data-status="unavailable"' in svg
    assert 'data-status="denied"' in svg
    assert "segment org-0 source-ok" in svg
    assert "source-unavailable" in svg


def test_view_page_lists_sources_withheld_interactions_contacts(
    web_node: WebNode, fixed_view: list
) -> None:
    web_node.as_role("coordinator")
    html = post_view(web_node, {"purpose": "care_coordination"}).text
    assert 'data-testid="source-status-police-north" data-status="unavailable"' in html
    assert 'data-testid="source-status-school-park" data-status="denied"' in html
    assert "2000 ms" in html
    assert 'data-testid="withheld-gp-riverside-physical_health"' in html
    assert "Lost income puts the tenancy at risk." in html
    assert 'data-testid="coordinator"' in html
    assert "Apply for discretionary housing payment" in html
    assert 'data-testid="emergency-banner"' not in html
    assert response_is_private(post_view(web_node, {"purpose": "care_coordination"}).headers)


def response_is_private(headers: Any) -> bool:
    return headers["cache-control"] == "no-store"


def test_emergency_view_shows_the_banner(web_node: WebNode, fixed_view: list) -> None:
    web_node.as_role("safeguarding_lead")
    response = post_view(
        web_node,
        {
            "purpose": "safeguarding",
            "emergency_basis": "vital_interests",
            "justification": JUSTIFICATION,
        },
    )
    assert response.status_code == 200
    assert 'data-testid="emergency-banner"' in response.text
    assert fixed_view[0]["emergency_basis"] == "vital_interests"
    assert fixed_view[0]["justification"] == JUSTIFICATION


def view_page_of(web_node: WebNode, monkeypatch: pytest.MonkeyPatch, **changes: Any) -> str:
    async def fake_obtain_view(**kwargs: Any) -> JoinedUpView:
        return sample_view(**changes)

    monkeypatch.setattr(web_views, "obtain_view", fake_obtain_view)
    web_node.as_role("coordinator")
    response = post_view(web_node, {"purpose": "care_coordination"})
    assert response.status_code == 200, response.text
    return response.text


def text_of(html: str, testid: str) -> str:
    found = re.search(rf'data-testid="{testid}"[^>]*>(.*?)</(?:div|section|details)>', html, re.S)
    assert found is not None, testid
    return " ".join(re.sub(r"<[^>]+>", " ", found.group(1)).split())


def test_the_banner_names_who_did_not_answer_and_who_declined(
    web_node: WebNode, monkeypatch: pytest.MonkeyPatch
) -> None:
    note = text_of(view_page_of(web_node, monkeypatch), "incomplete-notice")
    assert note.startswith("Not every organisation answered.")
    assert "North Police did not answer in time." in note
    assert (
        "Park School released nothing for this purpose: its sharing policy did not allow it."
        in note
    )


def test_when_every_organisation_answered_the_banner_does_not_say_otherwise(
    web_node: WebNode, monkeypatch: pytest.MonkeyPatch
) -> None:
    sources = sample_view().model_dump(mode="json")["sources"]
    answered = [s for s in sources if s["status"] != "unavailable"]
    html = view_page_of(web_node, monkeypatch, sources=answered)
    note = text_of(html, "incomplete-notice")
    assert "Not every organisation answered" not in html
    assert note.startswith("Every organisation answered. Park School released nothing")


def test_a_view_where_everyone_shared_has_no_banner(
    web_node: WebNode, monkeypatch: pytest.MonkeyPatch
) -> None:
    sources = sample_view().model_dump(mode="json")["sources"]
    shared = [s for s in sources if s["status"] == "ok"]
    assert 'data-testid="incomplete-notice"' not in view_page_of(
        web_node, monkeypatch, sources=shared, complete=True
    )


@pytest.mark.parametrize(
    ("status", "reason", "words"),
    [
        ("no_consent", "no active consent covers this purpose", "No consent covers this view"),
        ("unavailable", "the consent service did not answer", "Consent could not be checked"),
    ],
)
def test_consent_is_explained_in_plain_words(
    web_node: WebNode, monkeypatch: pytest.MonkeyPatch, status: str, reason: str, words: str
) -> None:
    consent = {"status": status, "reason": reason}
    html = view_page_of(web_node, monkeypatch, consent=consent)
    note = text_of(html, "consent-notice")
    assert (
        note == f"{words}: {reason}. Organisations shared only what they may share without consent."
    )
    assert status not in note
    assert f"Consent: {status}" not in html


def test_the_subtitle_carries_no_view_id(
    web_node: WebNode, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert "view_test" not in view_page_of(web_node, monkeypatch)


def test_held_but_withheld_is_apart_from_what_no_agreement_covers(
    web_node: WebNode, monkeypatch: pytest.MonkeyPatch
) -> None:
    html = view_page_of(web_node, monkeypatch)
    section = html[html.index('data-testid="not-released"') :]
    held = section.index("Held but not released")
    assert held < section.index('data-testid="withheld-gp-riverside-physical_health"')
    assert section.index("<details") > held
    covered = text_of(section, "not-covered-school-park")
    assert covered.startswith("Park School: housing, safety")
    assert "hold something in these categories" not in html


def test_view_without_a_federation_is_an_error_page_not_500(web_node: WebNode) -> None:
    web_node.as_role("coordinator")
    response = post_view(web_node, {"purpose": "care_coordination"})
    assert 400 <= response.status_code < 600
    assert response.status_code != 500
    assert response.headers["content-type"].startswith("text/html")


def test_open_referrals_are_listed_under_actions_in_progress_with_a_way_to_refer(
    web_node: WebNode, monkeypatch: pytest.MonkeyPatch
) -> None:
    referral = {
        "referral_id": "a" * 32,
        "from_org": "council-a",
        "to_org": "gp-riverside",
        "category": "mental_health",
        "state": "more_info_requested",
        "sent_at": "2026-11-20T09:00:00+00:00",
        "org_id": "gp-riverside",
        "org_name": "Riverside GP",
    }

    async def fake_obtain_view(**kwargs: Any) -> JoinedUpView:
        return sample_view(referrals=[referral])

    monkeypatch.setattr(web_views, "obtain_view", fake_obtain_view)
    web_node.as_role("coordinator")
    html = post_view(web_node, {"purpose": "care_coordination"}).text
    row = html.split(f'data-testid="view-referral-{"a" * 32}"')[1].split("</tr>")[0]
    cells = re.findall(r"<td[^>]*>([^<]*)</td>", row)
    # From, to, need, state and age, in words: names, labels, never ids or codes.
    assert cells == [
        "Council A",
        "Riverside GP",
        "Mental health",
        "More information asked for",
        "3 days ago",
    ]
    link = f'href="/ui/persons/{web_node.person_id}/refer?category=mental_health"'
    assert link in html

"""Joined-up views across a real federation: five nodes and the consent service on loopback.

The story: Grace is known to the council, her GP, the police, her school and her
housing association. She enrols at the council and consents to the council seeing
her contact details, housing, physical health, safety and education records for care
co-ordination — not her mental health, income, social care, victim support or
criminal justice records. Thomas is known to three of them and gives two separate
consents, one of which he later revokes.
"""

from __future__ import annotations

import base64
import json
import re
import time
from dataclasses import dataclass
from datetime import date
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from sqlmodel import select

from node.audit.models import AuditEntry
from tests.e2e.conftest import REQUESTER, Driver, Person, wait_for
from tests.fixtures.servers import ServerSpec, start_many

pytestmark = pytest.mark.e2e

GRACE = Person("Okafor", "Grace", date(1984, 3, 17), "LS6 2AB", "943 476 5919")
THOMAS = Person("Rivers", "Thomas", date(1979, 8, 2), "LS7 1QT", "401 023 2137")
SAM = Person("Lowe", "Sam", date(1995, 2, 11), "LS9 6JP", "450 557 7104")

GRACE_NEEDS = {
    "council": ["housing", "income", "social_care"],
    "gp": ["physical_health", "mental_health"],
    "police": ["safety", "victim_support", "criminal_justice"],
    "school": ["education"],
    "housing": ["housing", "income"],
}
GRACE_CONSENT = ["contact_details", "housing", "physical_health", "safety", "education"]
# What each holder may release to a council co-ordinator (agreements ∩ consent).
GRACE_EXPECTED = {
    ("council", "housing"),
    ("gp", "physical_health"),
    ("police", "safety"),
    ("school", "education"),
    ("housing", "housing"),
}
THOMAS_NEEDS = {"council": ["housing"], "gp": ["physical_health"], "police": ["safety"]}
DEADLINE_S = 2.0  # NodeSettings.share_deadline_s default


@dataclass
class Story:
    grace: str
    thomas: str
    thomas_customer: str
    thomas_housing_consent: str
    thomas_health_consent: str
    need_ids: dict[tuple[str, str], int]


def seed(e2e: Driver, person: Person, needs: dict[str, list[str]]) -> tuple[dict, dict]:
    person_ids, need_ids = {}, {}
    for org, categories in needs.items():
        person_ids[org] = e2e.add_person(org, person)
        for category in categories:
            need_ids[org, category] = e2e.add_need(org, person_ids[org], category, severity="high")
    return person_ids, need_ids


@pytest.fixture(scope="module")
def story(e2e: Driver) -> Story:
    grace_ids, grace_needs = seed(e2e, GRACE, GRACE_NEEDS)
    e2e.add_action(
        "council", grace_ids["council"], grace_needs["council", "housing"], "Move to a safe flat"
    )
    e2e.add_action(
        "gp", grace_ids["gp"], grace_needs["gp", "mental_health"], "Counselling referral"
    )
    e2e.add_contact("council", grace_ids["council"], "Jo Bloggs", "Care co-ordinator")
    e2e.add_contact("gp", grace_ids["gp"], "Dr Amir Patel", "Named GP")
    enrolment = e2e.enrol("council", grace_ids["council"])
    assert {p["org_id"]: p["status"] for p in enrolment["partners"]} == {
        org: "received" for org in GRACE_NEEDS if org != "council"
    }
    grace = enrolment["subject_id"]
    customer = e2e.customer("council", grace, "grace")
    e2e.grant(customer, recipients=[REQUESTER], categories=GRACE_CONSENT)

    thomas_ids, thomas_needs = seed(e2e, THOMAS, THOMAS_NEEDS)
    thomas = e2e.enrol("council", thomas_ids["council"])["subject_id"]
    thomas_customer = e2e.customer("council", thomas, "thomas")
    housing = e2e.grant(thomas_customer, recipients=[REQUESTER], categories=["housing"])
    health = e2e.grant(
        thomas_customer, recipients=[REQUESTER], categories=["physical_health", "safety"]
    )
    return Story(grace, thomas, thomas_customer, housing, health, {**grace_needs, **thomas_needs})


def released(view: dict[str, Any]) -> set[tuple[str, str]]:
    return {(n["org_id"], n["category"]) for group in view["needs"] for n in group["needs"]}


def statuses(view: dict[str, Any]) -> dict[str, str]:
    return {s["org_id"]: s["status"] for s in view["sources"]}


def test_consented_view_returns_exactly_the_consented_categories(e2e, story):
    response = e2e.view(story.grace)
    assert response.status_code == 200, response.text
    view = response.json()
    assert released(view) == GRACE_EXPECTED
    assert [g["category"] for g in view["needs"]] == [
        "housing",
        "physical_health",
        "education",
        "safety",
    ]
    assert statuses(view) == dict.fromkeys(GRACE_NEEDS, "ok")  # itself included
    assert view["consent"]["status"] == "obtained"
    assert view["complete"] is True
    # Only the council's housing action: the GP's belongs to an unreleased need.
    assert [(a["org_id"], a["what"]) for a in view["actions"]] == [
        ("council", "Move to a safe flat")
    ]
    assert view["coordinator"]["worker_name"] == "Jo Bloggs"
    assert view["coordinator"]["org_id"] == "council"
    assert {"housing_safety", "education_housing"} == {
        i["rule_id"] for i in view["interacting_needs"]
    }
    withheld = {(w["org_id"], w["category"]) for w in view["withheld"]}
    assert ("gp", "mental_health") in withheld
    assert not any(category == "criminal_justice" for _, category in withheld)
    assert "criminal_justice" not in response.text  # its existence is never revealed


def test_a_view_can_ask_for_fewer_categories(e2e, story):
    view = e2e.view(story.grace, categories=["housing"]).json()
    assert released(view) == {("council", "housing"), ("housing", "housing")}


def test_one_view_is_traceable_by_its_id_at_every_node_it_touched(e2e, story):
    view = e2e.view(story.grace).json()
    with e2e.fed.session(REQUESTER) as session:
        mine = session.exec(
            select(AuditEntry).where(AuditEntry.request_id == view["view_id"])
        ).all()
    kinds = sorted(entry.kind for entry in mine)
    assert kinds == ["share_decided", "view_requested"]  # its own share endpoint, then the view
    requested = next(e for e in mine if e.kind == "view_requested")
    assert (requested.subject_id, requested.actor_role, requested.decision) == (
        story.grace,
        "coordinator",
        "allow",
    )
    assert set(requested.categories) == {"housing", "physical_health", "education", "safety"}
    for org in GRACE_NEEDS:
        with e2e.fed.session(org) as session:
            entries = session.exec(
                select(AuditEntry).where(
                    AuditEntry.request_id == view["view_id"], AuditEntry.kind == "share_decided"
                )
            ).all()
        assert [(e.actor_org, e.holder_org) for e in entries] == [(REQUESTER, org)]


@pytest.mark.parametrize(
    ("role", "body", "status"),
    [
        ("auditor", {}, 403),
        ("admin", {}, 403),
        ("frontline", {"purpose": "gossip"}, 422),
        ("frontline", {"categories": ["horoscope"]}, 422),
        ("frontline", {"emergency": {"basis": "vital_interests", "justification": ""}}, 422),
    ],
)
def test_views_refuse_the_wrong_staff_and_malformed_requests(e2e, story, role, body, status):
    assert e2e.view(story.grace, role=role, **body).status_code == status


def test_a_view_needs_a_bearer_token(e2e, story):
    response = httpx.post(
        f"{e2e.url(REQUESTER)}/views",
        json={"subject_id": story.grace, "purpose": "care_coordination"},
    )
    assert response.status_code == 401


def test_revoked_consent_releases_nothing_from_its_holders(e2e, story):
    before = e2e.view(story.thomas).json()
    assert released(before) == {
        ("council", "housing"),
        ("gp", "physical_health"),
        ("police", "safety"),
    }
    # A token the council obtained before the revocation, still within its max age.
    outstanding = e2e.fed.post(
        "consent",
        "/federation/consent-token",
        e2e.fed.sign(
            REQUESTER,
            "consent",
            "consent_token",
            {"subject_id": story.thomas, "purpose": "care_coordination"},
        ),
    ).json()["token"]

    e2e.revoke(story.thomas_customer, story.thomas_health_consent)

    after = e2e.view(story.thomas).json()
    assert released(after) == {("council", "housing")}
    assert after["actions"] == []

    # The pushed revocation makes the holders refuse even the outstanding token.
    def gp_section() -> dict[str, Any]:
        body = {
            "subject_id": story.thomas,
            "purpose": "care_coordination",
            "categories": [],
            "staff_role": "coordinator",
            "staff_pseudonym": "stf_test",
            "consent_token": outstanding,
            "emergency": None,
            "view_id": "view_revocation_check",
        }
        token = e2e.fed.sign(REQUESTER, "gp", "share", body, request_id=f"rq{time.monotonic_ns()}")
        answer = e2e.fed.post("gp", "/federation/share", token)
        assert answer.status_code == 200, answer.text
        request_id = json.loads(base64.urlsafe_b64decode(token.split(".")[1] + "=="))["jti"]
        return e2e.fed.open(
            requester=REQUESTER,
            responder="gp",
            response_token=answer.json()["response"],
            request_id=request_id,
        )

    def refused() -> dict[str, Any] | None:
        section = gp_section()
        return None if section["decision"]["allow"] else section

    section = wait_for(refused)
    assert section["needs"] == []
    assert section["decision"]["categories"] == []


def test_an_emergency_view_tells_the_customer_and_audits_it(e2e, story):
    # The policy's notify_customer obligation is discharged: the consent service
    # holds a notice the customer sees, and the requester's log says it was sent.
    emergency = {
        "basis": "vital_interests",
        "justification": "Collapsed at the housing office; paramedics need his history",
    }
    response = e2e.view(story.thomas, emergency=emergency)
    assert response.status_code == 200, response.text
    view = response.json()
    assert {"obligation": "notify_customer", "org_id": "gp"} in view["obligations"]

    def notices() -> list[dict[str, Any]]:
        # The notice goes through the requester's outbox, just after the view.
        listed = httpx.get(
            f"{e2e.url('consent')}/me/notices",
            headers={"Authorization": f"Bearer {story.thomas_customer}"},
            timeout=10,
        ).json()
        return [n for n in listed["data"] if n["view_id"] == view["view_id"]]

    (notice,) = wait_for(notices)
    assert notice["from_org"] == REQUESTER
    assert notice["basis"] == "vital_interests"
    assert "gp" in notice["holders"]
    assert "physical_health" in notice["categories"]
    assert "physical_health" in notice["released"]["gp"]  # said per holder

    def audited() -> list[AuditEntry]:
        with e2e.fed.session(REQUESTER) as session:
            return list(
                session.exec(
                    select(AuditEntry).where(
                        AuditEntry.request_id == view["view_id"],
                        AuditEntry.kind == "customer_notice",
                    )
                ).all()
            )

    (entry,) = wait_for(audited)
    assert entry.decision == "info"
    assert entry.emergency is True
    assert "delivered" in entry.reason


def test_an_emergency_justification_is_hashed_into_the_log_at_the_requester_and_every_holder(
    e2e, story
):
    # Issue 11 item 1: an auditor at any node can read who invoked which basis and why.
    why = "Threatened self-harm at the housing office; crisis team needs history now"
    emergency = {"basis": "vital_interests", "justification": why}
    response = e2e.view(story.thomas, emergency=emergency)
    assert response.status_code == 200, response.text
    view_id = response.json()["view_id"]
    for org in (REQUESTER, *THOMAS_NEEDS):
        with e2e.fed.session(org) as session:
            entries = session.exec(
                select(AuditEntry).where(
                    AuditEntry.request_id == view_id, AuditEntry.kind != "customer_notice"
                )
            ).all()
        assert entries, org
        for entry in entries:
            assert (entry.emergency_basis, entry.justification) == ("vital_interests", why)
            canonical = entry.canonical()
            assert (canonical["v"], canonical["justification"]) == (2, why)
        found = e2e.api(
            org, "GET", "/audit/entries", role="auditor", params={"request_id": view_id}
        )
        assert {e["justification"] for e in found["data"] if e["kind"] != "customer_notice"} == {
            why
        }
        report = e2e.api(org, "POST", "/audit/verify", role="auditor")
        assert report["ok"], report["problems"]
    token = e2e.staff(REQUESTER, "auditor")
    headers = {"Authorization": f"Bearer {token}"}
    params = {"request_id": view_id}
    csv_text = e2e.client.get(
        f"{e2e.url(REQUESTER)}/audit/entries.csv", headers=headers, params=params
    ).text
    assert "emergency_basis,justification" in csv_text.splitlines()[0]
    assert f"vital_interests,{why}" in csv_text
    lines = e2e.client.get(
        f"{e2e.url(REQUESTER)}/audit/entries.jsonl", headers=headers, params=params
    ).text.splitlines()
    assert any(json.loads(line).get("justification") == why for line in lines)


def test_a_stopped_node_is_unavailable_and_the_rest_of_the_view_is_intact(e2e, story):
    e2e.stop("school")
    try:
        started = time.monotonic()
        response = e2e.view(story.grace)
        elapsed = time.monotonic() - started
    finally:
        e2e.restart("school")
    assert response.status_code == 200
    view = response.json()
    assert statuses(view)["school"] == "unavailable"
    assert released(view) == GRACE_EXPECTED - {("school", "education")}
    assert view["complete"] is False
    assert elapsed < DEADLINE_S + 10  # generous slack: a loaded two-core machine


def test_a_hung_node_is_cut_off_at_the_deadline(e2e, story):
    e2e.pause("police")
    try:
        started = time.monotonic()
        response = e2e.view(story.grace)
        elapsed = time.monotonic() - started
    finally:
        e2e.resume("police")
    view = response.json()
    police = next(s for s in view["sources"] if s["org_id"] == "police")
    assert police["status"] == "unavailable"
    assert police["reason"] == "no answer within the deadline"
    assert released(view) == GRACE_EXPECTED - {("police", "safety")}
    # The node cut the hung partner off at its deadline (measured by the node, so
    # not inflated by this test client), and the whole view came back soon after.
    deadline_ms = DEADLINE_S * 1000
    assert deadline_ms * 0.9 <= police["latency_ms"] <= deadline_ms + 500
    assert elapsed < DEADLINE_S + 10  # client side: generous slack for a loaded machine


def test_without_the_consent_service_the_view_says_so_and_releases_nothing_by_consent(e2e, story):
    """No kept token: nothing by consent, and the view says why. A kept one serves its life."""
    ids, _needs = seed(e2e, SAM, {"council": ["housing"], "gp": ["physical_health"]})
    sam = e2e.enrol("council", ids["council"])["subject_id"]
    e2e.grant(e2e.customer("council", sam, "sam"), recipients=[REQUESTER], categories=["housing"])
    assert released(e2e.view(story.grace).json()) == GRACE_EXPECTED  # keeps Grace's token
    e2e.pause("consent")
    try:
        never_viewed = e2e.view(sam).json()
        kept = e2e.view(story.grace).json()
    finally:
        e2e.resume("consent")
    assert never_viewed["consent"]["status"] == "unavailable"
    assert released(never_viewed) == set()
    assert set(statuses(never_viewed).values()) <= {"denied", "ok"}
    # The token kept from the view a moment ago is still within its maximum age, and no
    # consent change has been pushed since: partners verify it offline as before.
    assert kept["consent"]["status"] == "obtained"
    assert released(kept) == GRACE_EXPECTED


def test_a_tampered_sealed_answer_is_rejected_and_nothing_of_it_is_shown(e2e, story, tmp_path):
    proxy = ServerSpec(
        "tamper-proxy", "tests.e2e.tamper_proxy:create_app", {"TAMPER_PROXY_TARGET": e2e.url("gp")}
    )
    proxy_url = f"http://127.0.0.1:{proxy.port}"
    gp_url = e2e.url("gp")

    def route_gp(url: str):
        return lambda members: [
            m.model_copy(update={"base_url": url}) if m.org_id == "gp" else m for m in members
        ]

    def gp_rejected(view: dict[str, Any]) -> dict[str, Any] | None:
        return view if statuses(view)["gp"] == "error" else None

    with start_many([proxy], tmp_path):
        e2e.publish_registry(route_gp(proxy_url))
        try:
            view = wait_for(lambda: gp_rejected(e2e.view(story.grace).json()))
            tampered = httpx.get(f"{proxy_url}/stats").json()["tampered"]
        finally:
            e2e.publish_registry(route_gp(gp_url))
    gp = next(s for s in view["sources"] if s["org_id"] == "gp")
    assert gp["reason"] == "invalid response"
    assert tampered >= 1
    assert not any(n["org_id"] == "gp" for g in view["needs"] for n in g["needs"])
    assert not any(c["org_id"] == "gp" for c in view["contacts"])
    assert not any(w["org_id"] == "gp" for w in view["withheld"])
    assert released(view) == GRACE_EXPECTED - {("gp", "physical_health")}
    # And with the honest route back, the GP's section returns.
    wait_for(lambda: statuses(e2e.view(story.grace).json())["gp"] == "ok")


_JWT = re.compile(r"eyJ[A-Za-z0-9_-]+\.([A-Za-z0-9_-]+)\.[A-Za-z0-9_-]+")


def readable(text: str, depth: int = 0) -> str:
    """``text`` plus the decoded payload of every JWT in it, recursively (JWS is not secret)."""
    parts = [text]
    for match in _JWT.finditer(text):
        payload = match.group(1)
        try:
            decoded = base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)).decode()
        except (ValueError, UnicodeDecodeError):
            continue
        parts.append(readable(decoded, depth + 1) if depth < 4 else decoded)
    return "\n".join(parts)


def identifier_spellings(person: Person) -> list[str]:
    dob = person.date_of_birth
    return [
        person.family_name,
        person.given_name,
        dob.isoformat(),
        dob.strftime("%d/%m/%Y"),
        dob.strftime("%Y%m%d"),
        person.postcode,
        person.postcode.replace(" ", ""),
        person.national_number,
        person.national_number.replace(" ", ""),
    ]


def test_no_raw_identifier_travels_between_nodes(e2e, story):
    e2e.view(story.grace)
    e2e.view(story.thomas)
    lines = [line for org in GRACE_NEEDS for line in e2e.fed.traffic(org)]
    urls = {line["url"] for line in lines}
    # The capture saw the enrolment, the consent tokens and every share request.
    assert any(url.endswith("/federation/enrol") for url in urls)
    assert any(url.endswith("/federation/link") for url in urls)
    assert any(url.endswith("/federation/consent-token") for url in urls)
    assert sum(url.endswith("/federation/share") for url in urls) >= len(GRACE_NEEDS)
    decoded = [readable(line["url"] + "\n" + line["body"]).casefold() for line in lines]
    assert any(story.grace.casefold() in text for text in decoded)  # the decoding works
    for person in (GRACE, THOMAS):
        for spelling in identifier_spellings(person):
            leaks = [text for text in decoded if spelling.casefold() in text]
            assert leaks == [], f"a raw identifier ({spelling!r}) left a node"


def test_no_generated_view_request_gives_a_server_error(e2e, story):
    """schemathesis over POST /views, against the real federation, as a co-ordinator."""
    schema = schemathesis.openapi.from_url(f"{e2e.url(REQUESTER)}/openapi.json").include(
        path_regex=r"^/views$"
    )
    (operation,) = [result.ok() for result in schema.get_all_operations()]
    headers = {"Authorization": f"Bearer {e2e.staff(REQUESTER, 'coordinator')}"}
    answered: list[int] = []

    @given(case=operation.as_strategy())
    @settings(
        max_examples=25,
        deadline=None,
        suppress_health_check=list(HealthCheck),
        derandomize=True,
        database=None,
    )
    def check(case: Any) -> None:
        response = case.call(base_url=e2e.url(REQUESTER), headers=headers, timeout=30)
        answered.append(response.status_code)
        assert response.status_code < 500, response.text[:300]
        if response.status_code >= 400:
            assert response.headers["content-type"][0].startswith("application/problem+json")

    check()
    assert 422 in answered  # the generator did reach the validation paths


PRIYA = Person("Shah", "Priya", date(1990, 6, 9), "LS8 4HG", "485 777 3456")


def consent_token_fetches(e2e: Driver) -> int:
    """How many consent tokens the requester has asked the consent service for so far."""
    return sum(
        1
        for line in e2e.fed.traffic(REQUESTER)
        if "/federation/consent-token" in line["url"] and line.get("direction") != "response"
    )


def test_a_kept_consent_token_still_shows_a_grant_and_a_revocation_in_the_very_next_view(e2e):
    """Steady state: one round trip per view; a consent change is never hidden by it."""
    ids, _needs = seed(e2e, PRIYA, {"council": ["housing"], "gp": ["physical_health"]})
    priya = e2e.enrol("council", ids["council"])["subject_id"]
    customer = e2e.customer("council", priya, "priya")
    housing = e2e.grant(customer, recipients=[REQUESTER], categories=["housing"])

    assert released(e2e.view(priya).json()) == {("council", "housing")}
    fetched = consent_token_fetches(e2e)
    assert released(e2e.view(priya).json()) == {("council", "housing")}
    assert consent_token_fetches(e2e) == fetched  # the kept token served the second view

    e2e.grant(customer, recipients=[REQUESTER], categories=["physical_health"])
    assert released(e2e.view(priya).json()) == {("council", "housing"), ("gp", "physical_health")}
    assert consent_token_fetches(e2e) == fetched + 1

    e2e.revoke(customer, housing)
    assert released(e2e.view(priya).json()) == {("gp", "physical_health")}
    assert consent_token_fetches(e2e) == fetched + 2

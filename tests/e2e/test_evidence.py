"""Evidence across five real node processes: secure summation, disclosure, retry, policy.

The test seeds each node's database directly and computes each node's own counts
itself (plain Python over what it seeded), so the federation's answer is checked
against numbers the nodes' code never produced. Traffic is captured by every node
(requests and answers) to show that no node's own counts ever travel readable.
"""

from __future__ import annotations

import base64
import csv
import datetime as dt
import json
import random
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings

from federation.disclosure import protect_table
from federation.envelope import new_request_id
from federation.evidence import (
    EvidenceQuery,
    load_catalogue,
    month_start,
    months_between,
    next_month,
)
from federation.secure_sum import masked_vector, unmask_sum
from node.audit.models import AuditEntry
from node.records.models import Need, Person
from tests.e2e.conftest import Driver, wait_for
from tests.fixtures.federation import RunningFederation, start_federation
from tests.fixtures.servers import ServerSpec, free_port, start_many

pytestmark = pytest.mark.e2e

ORGS = [
    ("council", "council", "Riverside Council"),
    ("gp", "gp", "Riverside GP"),
    ("police", "police", "Riverside Police"),
    ("school", "school", "Riverside High"),
    ("housing", "housing_association", "Riverside Homes"),
]
REQUESTER = "council"
CATEGORIES = ["housing", "income", "mental_health", "social_care"]
PERIOD = ("2026-01", "2026-04")
QUESTION = "open_needs_by_category_month"
UTC = dt.UTC


@dataclass(frozen=True)
class SeededNeed:
    person: int
    category: str
    since: dt.date
    status: str
    updated_at: dt.datetime


@dataclass
class Federation:
    fed: RunningFederation
    needs: dict[str, list[SeededNeed]]
    client: httpx.Client

    def token(self, org_id: str, role: str) -> str:
        return self.fed.staff_token(org_id, f"{role}-{org_id}", role)

    def ask(self, *, role: str = "analyst", **changes: Any) -> httpx.Response:
        body = {
            "question": QUESTION,
            "period_from": PERIOD[0],
            "period_to": PERIOD[1],
            "purpose": "service_planning",
            "categories": CATEGORIES,
            **changes,
        }
        return self.client.post(
            f"{self.fed.url(REQUESTER)}/evidence/answers",
            json=body,
            headers={"Authorization": f"Bearer {self.token(REQUESTER, role)}"},
        )


def seed(fed: RunningFederation, org_id: str, rng: random.Random) -> list[SeededNeed]:
    """Between 20 and 60 people at ``org_id``, each with one to three needs."""
    seeded: list[SeededNeed] = []
    with fed.session(org_id) as session:
        for n in range(rng.randint(20, 60)):
            person = Person(
                local_ref=f"{org_id}-{n}",
                family_name="Seeded",
                given_name=f"Person {n}",
                date_of_birth=dt.date(1970, 1, 1),
            )
            session.add(person)
            session.flush()
            assert person.id is not None
            for _ in range(rng.randint(1, 3)):
                since = dt.date(2025, 11, 1) + dt.timedelta(days=rng.randint(0, 170))
                closed = rng.random() < 0.3
                changed = since + dt.timedelta(days=rng.randint(0, 60))
                need = SeededNeed(
                    person=person.id,
                    category=rng.choices([*CATEGORIES, "safety"], weights=[10, 6, 1, 3, 2])[0],
                    since=since,
                    status="closed" if closed else "open",
                    updated_at=dt.datetime(changed.year, changed.month, changed.day, 9, tzinfo=UTC),
                )
                session.add(
                    Need(
                        person_id=need.person,
                        category=need.category,
                        since=need.since,
                        status=need.status,
                        updated_at=need.updated_at,
                        recorded_by="seed",
                    )
                )
                seeded.append(need)
    return seeded


def own_counts(needs: list[SeededNeed], categories: list[str] = CATEGORIES) -> list[int]:
    """A node's counts, computed here: people with an open need per category and month."""
    cells: list[int] = []
    for category in categories:
        for month in months_between(*PERIOD):
            starts = dt.datetime.combine(month_start(month), dt.time(), tzinfo=UTC)
            people = {
                n.person
                for n in needs
                if n.category == category
                and n.since < next_month(month)
                and (n.status == "open" or n.updated_at >= starts)
            }
            cells.append(len(people))
    return cells


@pytest.fixture(scope="module")
def federation(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Federation]:
    root = tmp_path_factory.mktemp("evidence")
    rng = random.Random(17)
    with (
        start_federation(root, ORGS, consent=False, traffic_log=True) as fed,
        httpx.Client(timeout=60) as client,
    ):
        needs = {org_id: seed(fed, org_id, rng) for org_id, _, _ in ORGS}
        yield Federation(fed, needs, client)


def expected_totals(
    federation: Federation, orgs: list[str], categories: list[str] = CATEGORIES
) -> list[int]:
    per_node = [own_counts(federation.needs[org], categories) for org in orgs]
    return [sum(cells) for cells in zip(*per_node, strict=True)]


def protected_values(totals: list[int], rows: int = len(CATEGORIES)) -> list[list[int | None]]:
    width = len(months_between(*PERIOD))
    table = [totals[r * width : (r + 1) * width] for r in range(rows)]
    protected = protect_table(table, load_catalogue().disclosure)
    return [[c.value for c in row] for row in protected.cells]


def answered_values(answer: dict[str, Any]) -> list[list[int | None]]:
    return [[c["value"] for c in row] for row in answer["cells"]]


def load_catalogue_categories() -> list[str]:
    from federation.vocabulary import load_vocabulary

    return sorted(load_vocabulary().categories)


def audit_kinds(fed: RunningFederation, org_id: str, evidence_id: str) -> list[tuple[str, str]]:
    from sqlmodel import select

    with fed.session(org_id) as session:
        rows = session.exec(select(AuditEntry).where(AuditEntry.request_id == evidence_id)).all()
        return sorted((row.kind, row.decision) for row in rows)


def test_an_analyst_gets_federation_totals_that_equal_the_sum_of_every_nodes_counts(federation):
    response = federation.ask()
    assert response.status_code == 200, response.text
    answer = response.json()
    everyone = [org for org, _, _ in ORGS]
    assert answer["organisations"] == sorted(everyone)
    assert answer["left_out"] == []
    assert answer["attempts"] == 1
    totals = expected_totals(federation, everyone)
    assert any(0 < t < 10 for t in totals), "the seed should give some small totals"
    assert answered_values(answer) == protected_values(totals)
    shown = [c for row in answer["cells"] for c in row]
    assert {c["shown"] for c in shown} >= {"count", "suppressed"}
    assert answer["row_labels"][0] == "Housing"
    assert answer["column_labels"][0] == "January 2026"
    # Every node audited its part under the analyst's evidence id; the council both ends.
    evidence_id = answer["evidence_id"]
    assert audit_kinds(federation.fed, REQUESTER, evidence_id) == [
        ("aggregate_answered", "allow"),
        ("aggregate_requested", "allow"),
    ]
    for org in everyone[1:]:
        assert audit_kinds(federation.fed, org, evidence_id) == [
            ("aggregate_contributed", "info"),
            ("aggregate_decided", "allow"),
        ]


def _jwt_payloads(text: str) -> list[dict[str, Any]]:
    found = []
    for match in re.finditer(r"eyJ[A-Za-z0-9_-]+\.([A-Za-z0-9_-]+)\.[A-Za-z0-9_-]+", text):
        payload = match.group(1)
        found.append(json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))))
    return found


def test_no_nodes_counts_can_be_read_from_the_captured_traffic(federation):
    assert federation.ask().status_code == 200
    lines = [line for org, _, _ in ORGS for line in federation.fed.traffic(org)]
    contributions = [
        line
        for line in lines
        if line.get("direction") == "response" and line["url"].endswith("/aggregate/contribute")
    ]
    assert len(contributions) >= 4
    for line in contributions:
        (claims,) = _jwt_payloads(line["body"])
        assert set(claims) >= {"sealed", "iss", "aud"}  # only ciphertext travels
        assert "masked" not in line["body"]
    counts = {org: own_counts(federation.needs[org]) for org, _, _ in ORGS}
    for line in lines:
        readable = line["body"] + json.dumps(
            [p for p in _jwt_payloads(line["body"]) if "sealed" not in p]
        )
        for cells in counts.values():
            assert json.dumps(cells) not in readable
            assert json.dumps(cells).replace(" ", "") not in readable


def test_each_contribution_opened_by_the_requester_is_masked_and_they_sum_exactly(federation):
    """As the council's node would: sign both rounds, open the sealed answers, unmask."""
    fed = federation.fed
    query = EvidenceQuery(
        question=QUESTION,
        period_from=PERIOD[0],
        period_to=PERIOD[1],
        categories=CATEGORIES,
        purpose="service_planning",
    )
    query_id, evidence_id = new_request_id(), new_request_id()
    partners = [org for org, _, _ in ORGS if org != REQUESTER]
    for org in partners:
        join = fed.sign(
            REQUESTER,
            org,
            "aggregate_join",
            {
                "query_id": query_id,
                "evidence_id": evidence_id,
                "attempt": 1,
                "query": query.model_dump(),
                "requester_role": "analyst",
                "requester_staff": "pseud_analyst",
            },
        )
        answer = fed.post(org, "/federation/aggregate/join", join)
        assert answer.json()["joined"] is True, answer.text
    participants = sorted([REQUESTER, *partners])
    body = {"query_id": query_id, "query": query.model_dump(), "participants": participants}
    vectors: dict[str, list[int]] = {}
    for org in partners:
        request_id = new_request_id()
        signed = fed.sign(REQUESTER, org, "aggregate_contribute", body, request_id=request_id)
        response = fed.post(org, "/federation/aggregate/contribute", signed)
        assert response.status_code == 200, response.text
        opened = fed.open(
            requester=REQUESTER,
            responder=org,
            response_token=response.json()["response"],
            request_id=request_id,
        )
        vectors[org] = opened["masked"]
        own = own_counts(federation.needs[org])
        assert vectors[org] != own
        assert min(vectors[org]) > 2**32  # masked values are spread over 0..2**64
    keys = {org: fed.registry.public_key(org) for org in participants}
    council = masked_vector(
        own_counts(federation.needs[REQUESTER]),
        me=REQUESTER,
        my_key=fed.keys[REQUESTER].encryption_key,
        participants=keys,
        query_id=query_id,
    )
    total = unmask_sum([council, *vectors.values()], len(council))
    assert total == expected_totals(federation, participants)
    # A second contribution to the same query (say, for another set) is refused.
    again = fed.sign(REQUESTER, "gp", "aggregate_contribute", body)
    assert fed.post("gp", "/federation/aggregate/contribute", again).status_code == 409


def test_a_node_that_drops_out_in_round_two_gives_a_clean_retry_without_it(federation, tmp_path):
    fed = federation.fed
    proxy = ServerSpec(
        "tamper-proxy", "tests.e2e.tamper_proxy:create_app", {"TAMPER_PROXY_TARGET": fed.url("gp")}
    )
    proxy_url, gp_url = f"http://127.0.0.1:{proxy.port}", fed.url("gp")

    def route_gp(url: str):
        return lambda members: [
            m.model_copy(update={"base_url": url}) if m.org_id == "gp" else m for m in members
        ]

    def retried() -> dict[str, Any] | None:
        response = federation.ask()
        assert response.status_code == 200, response.text
        answer: dict[str, Any] = response.json()
        return answer if answer["attempts"] == 2 else None

    publish = Driver(fed, federation.client).publish_registry
    with start_many([proxy], tmp_path):
        publish(route_gp(proxy_url))
        try:
            answer = wait_for(retried, timeout=60)
            tampered = httpx.get(f"{proxy_url}/stats").json()["tampered"]
        finally:
            publish(route_gp(gp_url))
    assert tampered >= 1
    others = sorted(org for org, _, _ in ORGS if org != "gp")
    assert answer["organisations"] == others
    assert [(o["org_id"], o["why"]) for o in answer["left_out"]] == [
        ("gp", "dropped out before sending its counts; asked again without it")
    ]
    assert "asked 2 times" in answer["note"]
    assert answered_values(answer) == protected_values(expected_totals(federation, others))


def test_a_front_line_worker_is_refused_by_policy_and_the_refusal_is_audited(federation):
    response = federation.ask(role="frontline")
    assert response.status_code == 403
    assert response.headers["content-type"].startswith("application/problem+json")
    assert "the role frontline may not ask for aggregate evidence" in response.json()["detail"]
    with federation.fed.session(REQUESTER) as session:
        from sqlmodel import select

        denied = session.exec(
            select(AuditEntry).where(
                AuditEntry.kind == "aggregate_requested", AuditEntry.decision == "deny"
            )
        ).all()
    assert [d.actor_role for d in denied] == ["frontline"]


def test_a_partner_refuses_to_join_for_a_non_analyst_and_audits_it(federation):
    fed = federation.fed
    query = EvidenceQuery(
        question=QUESTION,
        period_from=PERIOD[0],
        period_to=PERIOD[1],
        categories=CATEGORIES,
        purpose="service_planning",
    )
    evidence_id = new_request_id()
    join = fed.sign(
        REQUESTER,
        "police",
        "aggregate_join",
        {
            "query_id": new_request_id(),
            "evidence_id": evidence_id,
            "attempt": 1,
            "query": query.model_dump(),
            "requester_role": "coordinator",
            "requester_staff": "pseud_coordinator",
        },
    )
    answer = fed.post("police", "/federation/aggregate/join", join).json()
    assert answer["joined"] is False
    assert any("coordinator may not ask" in r for r in answer["reasons"])
    assert audit_kinds(fed, "police", evidence_id) == [("aggregate_decided", "deny")]


@pytest.mark.parametrize(
    ("changes", "status"),
    [
        ({"question": "referrals_by_category_outcome"}, 404),
        ({"question": "no_such_question"}, 404),
        ({"categories": ["not_a_category"]}, 422),
        ({"period_from": "2026-05"}, 422),
        ({"period_from": "2026-13"}, 422),
    ],
)
def test_bad_questions_are_answered_with_a_problem(federation, changes, status):
    response = federation.ask(**changes)
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")


def test_no_generated_evidence_request_gives_a_server_error(federation):
    """schemathesis over the evidence endpoints of a real node, as an analyst."""
    base = federation.fed.url(REQUESTER)
    schema = schemathesis.openapi.from_url(f"{base}/openapi.json").include(
        path_regex=r"^/(evidence/|federation/aggregate/)"
    )
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) == 4
    headers = {"Authorization": f"Bearer {federation.token(REQUESTER, 'analyst')}"}
    answered: list[int] = []
    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(
            max_examples=8,
            deadline=None,
            suppress_health_check=list(HealthCheck),
            derandomize=True,
            database=None,
        )
        def check(case: Any) -> None:
            response = case.call(base_url=base, headers=headers, timeout=60)
            answered.append(response.status_code)
            assert response.status_code < 500, response.text[:300]
            if response.status_code >= 400:
                assert response.headers["content-type"][0].startswith("application/problem+json")

        check()
    assert 422 in answered
    assert 400 in answered


def test_the_evidence_page_shows_the_protected_table_a_csv_and_a_summary(federation):
    base = federation.fed.url(REQUESTER)
    staff_cookie = {"joinedup_staff": federation.token(REQUESTER, "analyst")}
    with httpx.Client(timeout=60, cookies=staff_cookie) as client:
        check_the_pages(client, base, federation)


def check_the_pages(client: httpx.Client, base: str, federation: Federation) -> None:
    query = f"question={QUESTION}&period_from={PERIOD[0]}&period_to={PERIOD[1]}"
    page = client.get(f"{base}/ui/evidence?{query}")
    assert page.status_code == 200, page.text
    assert 'data-testid="evidence-table"' in page.text
    assert "Fewer than 10" in page.text  # suppressed cells are said, not left blank
    assert "January 2026" in page.text
    # The chart: Vega-Altair's SVG, rendered on the server, as an image with a text alternative.
    chart = re.search(
        r'<img src="data:image/svg\+xml;base64,([A-Za-z0-9+/=]+)" alt="([^"]+)"', page.text
    )
    assert chart is not None
    svg = base64.b64decode(chart.group(1)).decode()
    assert svg.startswith("<svg")
    assert "Housing" in svg
    assert "Hidden numbers are left out" in chart.group(2)
    csv_file = client.get(f"{base}/ui/evidence.csv?{query}")
    assert csv_file.headers["content-type"].startswith("text/csv")
    rows = csv_file.text.splitlines()
    assert rows[0].startswith("Need category,January 2026,")
    assert rows[1].startswith("Contact details,")  # every category of the taxonomy
    everyone = [org for org, _, _ in ORGS]
    every_category = sorted(load_catalogue_categories())
    totals = expected_totals(federation, everyone, every_category)
    for line, values in zip(rows[1:], protected_values(totals, len(every_category)), strict=False):
        cells = next(csv.reader([line]))[1 : len(values) + 1]
        assert cells == [
            f"{v:,}" if v is not None else c for v, c in zip(values, cells, strict=True)
        ]
        hidden = [c for v, c in zip(values, cells, strict=True) if v is None]
        assert all(c in ("Fewer than 10", "Hidden") for c in hidden)
    summary = client.get(f"{base}/ui/evidence/summary?{query}")
    assert 'data-testid="evidence-summary-facts"' in summary.text
    bad = client.get(f"{base}/ui/evidence?question={QUESTION}&period_from=2026-13&period_to=x")
    assert bad.status_code == 422
    assert 'data-testid="error-summary"' in bad.text


def test_too_few_organisations_gives_a_clean_503_that_is_audited(federation):
    """With three partners unreachable only two organisations remain: no totals at all."""
    fed = federation.fed
    publish = Driver(fed, federation.client).publish_registry
    gone = {"police", "school", "housing"}
    closed = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    urls = {org: fed.url(org) for org in gone}

    def route(to: dict[str, str]):
        return lambda members: [
            m.model_copy(update={"base_url": to[m.org_id]}) if m.org_id in to else m
            for m in members
        ]

    def refused() -> httpx.Response | None:
        response = federation.ask()
        return response if response.status_code == 503 else None

    publish(route(dict.fromkeys(gone, closed)))
    try:
        response = wait_for(refused, timeout=60)
    finally:
        publish(route(urls))
    assert response.headers["content-type"].startswith("application/problem+json")
    detail = response.json()["detail"]
    assert "too few organisations could take part (2" in detail
    assert "police did not answer in time" in detail
    with fed.session(REQUESTER) as session:
        from sqlmodel import select

        errors = session.exec(
            select(AuditEntry).where(
                AuditEntry.kind == "aggregate_answered", AuditEntry.decision == "error"
            )
        ).all()
    assert errors
    assert "too few organisations" in errors[-1].reason

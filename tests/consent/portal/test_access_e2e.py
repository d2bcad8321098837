"""The portal's "who saw my records" page against a real federation on loopback.

Three real nodes and the real consent service (``tests.fixtures.federation``). Grace
and Thomas are enrolled at the council and consent to the council seeing some of
their records; the council's co-ordinator asks for a joined-up view of each. Grace
then opens her access page in the portal: the consent service asks every node for
her audit entries through the signed ``audit_subject_report`` protocol, checks each
entry's inclusion proof and shows them. Thomas's entries never appear on her page
(nor hers on his), and a node that is frozen or stopped is named as missing.
"""

from __future__ import annotations

import os
import re
import signal
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date

import httpx
import pytest

from federation.registry import CONSENT_SERVICE_ID
from tests.e2e.conftest import CUSTOMER_PASSWORD, Driver, Person
from tests.fixtures.federation import RunningFederation, start_federation
from tests.fixtures.servers import ServerSpec, launch, wait_ready

pytestmark = pytest.mark.e2e

ORGS = [
    ("council", "council", "Riverside Council"),
    ("gp", "gp", "Hill Street GP"),
    ("police", "police", "Riverside Police"),
]
DEADLINE_S = 2.0
GRACE = Person("Okafor", "Grace", date(1984, 3, 17), "LS6 2AB", "943 476 5919")
THOMAS = Person("Rivers", "Thomas", date(1979, 8, 2), "LS7 1QT", "401 023 2137")
CSRF_INPUT = re.compile(r'name="csrf_token" value="([^"]+)"')
ROW = re.compile(
    r'<li data-testid="access-\d+" data-org="(?P<org>[^"]*)" data-kind="(?P<kind>[^"]*)" '
    r'data-request="(?P<request>[^"]*)"[^>]*>(?P<cells>.*?)</li>',
    re.S,
)


@dataclass
class Story:
    driver: Driver
    grace: str
    thomas: str
    grace_view: str
    thomas_view: str


@pytest.fixture(scope="module")
def fed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningFederation]:
    env = {"JOINEDUP_CONSENT_ACCESS_REPORT_DEADLINE_S": str(DEADLINE_S)}
    with start_federation(
        tmp_path_factory.mktemp("access-e2e"), ORGS, consent=True, extra_env=env
    ) as running:
        yield running


def _enrolled(driver: Driver, person: Person, needs: dict[str, str]) -> str:
    person_ids = {org: driver.add_person(org, person) for org in needs}
    for org, category in needs.items():
        driver.add_need(org, person_ids[org], category, severity="high")
    return str(driver.enrol("council", person_ids["council"])["subject_id"])


def _view_id(driver: Driver, subject_id: str) -> str:
    response = driver.view(subject_id)
    assert response.status_code == 200, response.text
    return str(response.json()["view_id"])


@pytest.fixture(scope="module")
def story(fed: RunningFederation) -> Iterator[Story]:
    with httpx.Client(timeout=30) as client:
        driver = Driver(fed, client)
        grace = _enrolled(
            driver, GRACE, {"council": "housing", "gp": "physical_health", "police": "safety"}
        )
        grace_token = driver.customer("council", grace, "grace")
        driver.grant(grace_token, recipients=["council"], categories=["housing", "physical_health"])
        thomas = _enrolled(driver, THOMAS, {"council": "housing", "gp": "physical_health"})
        thomas_token = driver.customer("council", thomas, "thomas")
        driver.grant(thomas_token, recipients=["council"], categories=["physical_health"])
        yield Story(driver, grace, thomas, _view_id(driver, grace), _view_id(driver, thomas))


def _portal_page(fed: RunningFederation, username: str) -> tuple[httpx.Response, float]:
    """Sign in to the portal as ``username``, open the access page; (page, seconds)."""
    with httpx.Client(base_url=fed.url(CONSENT_SERVICE_ID), timeout=30) as browser:
        form = browser.get("/portal/login")
        match = CSRF_INPUT.search(form.text)
        assert match, form.text
        signed_in = browser.post(
            "/portal/login",
            data={"username": username, "password": CUSTOMER_PASSWORD, "csrf_token": match[1]},
        )
        assert signed_in.status_code == 303, signed_in.text  # on to "my consents"
        started = time.monotonic()
        page = browser.get("/portal/access")
        return page, time.monotonic() - started


def _rows(html: str) -> list[dict[str, str]]:
    return [m.groupdict() for m in ROW.finditer(html)]


def _missing(html: str) -> dict[str, str]:
    return dict(re.findall(r'data-testid="access-missing-([\w-]+)" data-status="(\w+)"', html))


def test_the_customer_sees_the_councils_view_with_its_purpose(
    fed: RunningFederation, story: Story
) -> None:
    page, _ = _portal_page(fed, "grace")
    assert page.status_code == 200, page.text
    html = page.text
    assert 'data-testid="access-incomplete"' not in html, _missing(html)
    view_rows = [r for r in _rows(html) if r["request"] == story.grace_view]
    by_kind = {(r["kind"], r["org"]) for r in view_rows}
    # The council asked; the GP and the police each logged what they sent the council.
    assert ("view_requested", "council") in by_kind
    assert ("share_decided", "council") in by_kind
    shares = " ".join(r["cells"] for r in view_rows if r["kind"] == "share_decided")
    assert "Was sent your records held by Hill Street GP" in shares
    assert "your physical health records" in shares
    assert "Used its own records about you in the view" in shares
    # No consent covers the police's safety records: it refused, and says so.
    assert "Asked Riverside Police for your records and was refused" in shares
    assert '<h2 id="access-org-1">Riverside Council' in html  # the council's group first
    for row in view_rows:
        assert "care co-ordination" in row["cells"]
        assert 'data-proof="ok"' in row["cells"]


def test_another_customers_entries_never_appear(fed: RunningFederation, story: Story) -> None:
    grace_page, _ = _portal_page(fed, "grace")
    thomas_page, _ = _portal_page(fed, "thomas")
    grace_requests = {r["request"] for r in _rows(grace_page.text)}
    thomas_requests = {r["request"] for r in _rows(thomas_page.text)}
    assert story.grace_view in grace_requests
    assert story.thomas_view in thomas_requests
    assert story.thomas_view not in grace_page.text
    assert story.grace_view not in thomas_page.text
    assert not grace_requests & thomas_requests


def test_a_frozen_node_is_unavailable_and_the_page_still_answers_in_time(
    fed: RunningFederation, story: Story
) -> None:
    police = fed.servers["police"].process.pid
    os.kill(police, signal.SIGSTOP)  # accepts connections, never answers
    try:
        page, took = _portal_page(fed, "grace")
    finally:
        os.kill(police, signal.SIGCONT)
    assert page.status_code == 200
    assert _missing(page.text) == {"police": "unavailable"}
    assert "<strong>Riverside Police</strong>: it did not answer in time." in page.text
    assert took < DEADLINE_S + 5, took
    # What the council and the GP logged is still shown.
    kinds = {(r["kind"], r["request"]) for r in _rows(page.text)}
    assert ("view_requested", story.grace_view) in kinds
    assert ("share_decided", story.grace_view) in kinds


def test_a_stopped_node_shows_up_as_unavailable(fed: RunningFederation, story: Story) -> None:
    police = fed.servers["police"]
    police.stop()
    try:
        page, _ = _portal_page(fed, "grace")
    finally:
        # Back on the same port and data, so no test depends on running before this one.
        spec = ServerSpec("police", fed.prepared.factory_for("police"), police.env, police.port)
        fed.servers["police"] = launch(spec, police.log_path.parent)
        wait_ready(fed.servers["police"])
    assert page.status_code == 200
    html = page.text
    assert 'data-testid="access-incomplete"' in html
    assert _missing(html) == {"police": "unavailable"}
    assert story.grace_view in {r["request"] for r in _rows(html)}
    # The consent service's log names the node, never the customer.
    log = fed.servers[CONSENT_SERVICE_ID].log()
    assert story.grace not in log

"""A new category and a new purpose are a data-only change (issue 13, "One vocabulary").

The story: a federation adds "transport" (a need category) and "travel_support" (a
purpose) to a copy of the policy bundle — its taxonomy and one sharing agreement,
nothing else — and points a real consent service and two real nodes at it. A GP
records a transport need, the person enrols at the council and consents to the
council seeing transport records for travel support, and a council co-ordinator's
joined-up view shows the GP's transport need. No Python changed: each component
took the new terms from the data.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import httpx
import pytest

from federation.policy_bundle import policy_dir
from federation.registry import CONSENT_SERVICE_ID
from tests.e2e.conftest import Driver, Person
from tests.fixtures.federation import start_federation

pytestmark = pytest.mark.e2e

ORGS = [("council", "council", "Riverside Council"), ("gp", "gp", "Riverside GP")]
CATEGORY, PURPOSE = "transport", "travel_support"
AMINA = Person("Haddad", "Amina", date(1990, 5, 4), "LS8 3CD", "485 777 3456")


def _bundle_with_a_new_category_and_purpose(root: Path) -> Path:
    bundle = root / "policies"
    shutil.copytree(policy_dir(), bundle, ignore=shutil.ignore_patterns("__pycache__", "*.py"))
    taxonomy_path = bundle / "taxonomy" / "data.json"
    taxonomy = json.loads(taxonomy_path.read_text())
    assert CATEGORY not in taxonomy["categories"]
    assert PURPOSE not in taxonomy["purposes"]
    taxonomy["categories"][CATEGORY] = {
        "label": "Transport",
        "description": "Travel passes, blue badges and community transport.",
        "special": False,
        "existence_hidden": False,
        "fields": ["travel_pass", "blue_badge"],
    }
    taxonomy["purposes"][PURPOSE] = {"label": "Helping the person travel to their appointments"}
    taxonomy_path.write_text(json.dumps(taxonomy))
    share_path = bundle / "share" / "data.json"
    share = json.loads(share_path.read_text())
    share["agreements"]["gp"]["council"].append(
        {
            "id": "gp-to-council-travel",
            "title": "GP practice shares travel needs with council co-ordinators",
            "roles": ["coordinator"],
            "purposes": [PURPOSE],
            "categories": ["contact_details", CATEGORY],
        }
    )
    share_path.write_text(json.dumps(share))
    return bundle


@pytest.fixture(scope="module")
def driver(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Driver]:
    root = tmp_path_factory.mktemp("vocabulary")
    bundle = _bundle_with_a_new_category_and_purpose(root)
    env = {"JOINEDUP_NODE_POLICY_DIR": str(bundle), "JOINEDUP_CONSENT_POLICY_DIR": str(bundle)}
    with (
        start_federation(root / "federation", ORGS, extra_env=env) as fed,
        httpx.Client(timeout=30) as client,
    ):
        yield Driver(fed, client)


def _grant(driver: Driver, customer: str, provision: dict[str, Any]) -> httpx.Response:
    return driver.client.post(
        f"{driver.url(CONSENT_SERVICE_ID)}/me/consents",
        json={"grantor_kind": "customer", "provisions": [provision]},
        headers={"Authorization": f"Bearer {customer}"},
    )


def test_a_category_and_purpose_added_as_data_are_granted_shared_and_viewed(driver: Driver):
    council_id = driver.add_person("council", AMINA)
    gp_id = driver.add_person("gp", AMINA)
    driver.add_need("gp", gp_id, CATEGORY, severity="high")
    enrolment = driver.enrol("council", council_id)
    assert [p["status"] for p in enrolment["partners"]] == ["received"]
    subject = enrolment["subject_id"]
    customer = driver.customer("council", subject, "amina")

    # The consent service validates against the same data: a term nobody defined is
    # still refused, the new ones are accepted.
    provision = {
        "purposes": [PURPOSE],
        "recipients": ["council"],
        "categories": [CATEGORY],
        "actions": ["read"],
    }
    refused = _grant(driver, customer, {**provision, "categories": ["teleportation"]})
    assert refused.status_code == 422, refused.text
    granted = _grant(driver, customer, provision)
    assert granted.status_code == 201, granted.text
    assert granted.json()["provisions"][0]["categories"] == [CATEGORY]

    response = driver.view(subject, purpose=PURPOSE)
    assert response.status_code == 200, response.text
    view = response.json()
    assert view["consent"]["status"] == "obtained"
    assert [group["category"] for group in view["needs"]] == [CATEGORY]
    [need] = view["needs"][0]["needs"]
    assert (need["org_id"], need["category"]) == ("gp", CATEGORY)

    # Consent for the new purpose does not reach the old ones: nothing is released
    # for care co-ordination, which no consent of Amina's covers.
    other = driver.view(subject, purpose="care_coordination").json()
    assert other["needs"] == []

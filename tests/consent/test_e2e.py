"""The consent story end to end, on real processes: consent service + two real nodes.

Council enrols a customer at the consent service, the customer activates an
account and grants consent; council's consent token then opens the GP's section
(the real share endpoint verifies it offline). The customer revokes: the consent
service pushes the revocation to both nodes, after which the *same, unexpired*
token no longer opens anything at the GP, and a fresh token no longer lists the
provision.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Iterator

import httpx
import pytest
from sqlmodel import select

from federation.consent_token import verify_consent_token
from federation.envelope import new_request_id
from federation.linkage import linkage_tokens
from tests.fixtures.federation import RunningFederation, start_federation

pytestmark = pytest.mark.e2e

ORGS = [("council", "council", "Riverside Council"), ("gp", "gp", "Hill Street GP")]
PERSON = {
    "family_name": "Okafor",
    "given_name": "Grace",
    "date_of_birth": dt.date(1984, 3, 9),
    "postcode": "RV1 2AB",
}


@pytest.fixture(scope="module")
def fed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningFederation]:
    with start_federation(tmp_path_factory.mktemp("consent-e2e"), ORGS, consent=True) as running:
        yield running


def _consent_call(fed: RunningFederation, path: str, action: str, body: dict, issuer="council"):
    return fed.post("consent", path, fed.sign(issuer, "consent", action, body))


def _share(fed: RunningFederation, subject_id: str, consent_token: str) -> dict:
    body = {
        "subject_id": subject_id,
        "purpose": "care_coordination",
        "categories": ["physical_health"],
        "staff_role": "coordinator",
        "staff_pseudonym": "stf_e2e",
        "consent_token": consent_token,
    }
    request_id = new_request_id()
    token = fed.sign("council", "gp", "share", body, request_id=request_id)
    response = fed.post("gp", "/federation/share", token)
    assert response.status_code == 200, response.text
    return fed.open(
        requester="council",
        responder="gp",
        response_token=response.json()["response"],
        request_id=request_id,
    )


def _wait_for_revocation_at(fed: RunningFederation, org_id: str, consent_id: str) -> int:
    """Poll the node's own table (the push runs after the revoke answer is sent).

    Returns the change time the node recorded, in whole seconds as it compares them.
    """
    from node.revocations.models import Revocation

    for _ in range(400):
        with fed.session(org_id) as session:
            found = session.exec(
                select(Revocation).where(Revocation.consent_id == consent_id)
            ).first()
        if found is not None:
            return int(found.revoked_at.timestamp())
        time.sleep(0.05)
    raise AssertionError(f"revocation never reached {org_id}")


def test_grant_token_share_revoke_push_and_refusal(fed: RunningFederation) -> None:
    consent_url = fed.url("consent")
    tokens = linkage_tokens(key=fed.linkage_key, **PERSON)
    enrolled = _consent_call(fed, "/federation/enrol", "enrol", {"linkage_tokens": tokens})
    assert enrolled.status_code == 200, enrolled.text
    subject_id = enrolled.json()["subject_id"]
    again = _consent_call(fed, "/federation/enrol", "enrol", {"linkage_tokens": tokens}, "gp")
    assert (again.json()["subject_id"], again.json()["created"]) == (subject_id, False)

    person_id = fed.add_person("gp", **PERSON)
    fed.link("gp", subject_id, person_id)
    fed.add_need("gp", person_id, category="physical_health", description="diabetes review")

    made = _consent_call(
        fed,
        "/federation/customers",
        "create_customer",
        {"subject_id": subject_id, "username": "grace"},
    )
    assert made.status_code == 201, made.text
    activated = httpx.post(
        f"{consent_url}/customer/activate",
        json={"activation_code": made.json()["activation_code"], "password": "my own passphrase"},
    )
    assert activated.status_code == 200
    login = httpx.post(
        f"{consent_url}/customer/login", json={"username": "grace", "password": "my own passphrase"}
    )
    auth = {"Authorization": f"Bearer {login.json()['access_token']}"}
    grant = {
        "provisions": [
            {
                "purposes": ["care_coordination"],
                "recipients": ["council"],
                "categories": ["physical_health", "contact_details"],
                "actions": ["read"],
            }
        ]
    }
    granted = httpx.post(f"{consent_url}/me/consents", json=grant, headers=auth)
    assert granted.status_code == 201, granted.text
    consent_id = granted.json()["id"]

    issued = _consent_call(
        fed,
        "/federation/consent-token",
        "consent_token",
        {"subject_id": subject_id, "purpose": "care_coordination"},
    )
    assert issued.status_code == 200, issued.text
    token = issued.json()["token"]
    consent_keys = fed.registry.verify_keys("consent")
    claims = verify_consent_token(token, verify_keys=consent_keys, requester="council")
    assert [p.consent_id for p in claims.provisions] == [consent_id]

    before = _share(fed, subject_id, token)
    assert before["decision"]["allow"] is True, before["decision"]
    assert [n["category"] for n in before["needs"]] == ["physical_health"]

    revoked = httpx.post(f"{consent_url}/me/consents/{consent_id}/revoke", headers=auth)
    assert revoked.status_code == 200
    _wait_for_revocation_at(fed, "gp", consent_id)
    _wait_for_revocation_at(fed, "council", consent_id)

    # Same token, still within its 30 s: the GP now refuses what it covered.
    assert verify_consent_token(token, verify_keys=consent_keys, requester="council").expires_at
    after = _share(fed, subject_id, token)
    assert after["decision"]["allow"] is False
    assert after["needs"] == []

    fresh = _consent_call(
        fed,
        "/federation/consent-token",
        "consent_token",
        {"subject_id": subject_id, "purpose": "care_coordination"},
    ).json()["token"]
    assert (
        verify_consent_token(fresh, verify_keys=consent_keys, requester="council").provisions == []
    )

    history = httpx.get(f"{consent_url}/me/consents/{consent_id}/history", headers=auth).json()
    assert [e["kind"] for e in history["data"]] == ["granted", "revoked"]


def test_federation_errors_are_problems_not_500s(fed: RunningFederation) -> None:
    unknown = _consent_call(
        fed,
        "/federation/consent-token",
        "consent_token",
        {"subject_id": "sub_nobody", "purpose": "care_coordination"},
    )
    assert unknown.status_code == 404
    assert unknown.headers["content-type"] == "application/problem+json"
    bad_purpose = _consent_call(
        fed,
        "/federation/consent-token",
        "consent_token",
        {"subject_id": "sub_nobody", "purpose": "marketing"},
    )
    assert bad_purpose.status_code == 422
    from federation.keys import MemberKeys

    outsider = fed.sign(
        "mallory",
        "consent",
        "consent_token",
        {"subject_id": "sub_x", "purpose": "care_coordination"},
        keys=MemberKeys.generate(),
    )
    assert fed.post("consent", "/federation/consent-token", outsider).status_code == 403


def test_node_refuses_a_revocation_not_from_the_consent_service(fed: RunningFederation) -> None:
    body = {"consent_id": "cns_forged", "subject_id": "sub_x", "revoked_at": 1}
    forged = fed.sign("council", "gp", "revoke", body)
    assert fed.post("gp", "/federation/revocations", forged).status_code == 403


def test_narrowing_a_consent_stops_earlier_tokens_at_once(fed: RunningFederation) -> None:
    # An amendment is pushed like a revocation: a token issued under the broader
    # version is refused at once, a token issued afterwards carries the new one.
    consent_url = fed.url("consent")
    person = {**PERSON, "given_name": "Nadia", "family_name": "Narrow"}
    tokens = linkage_tokens(key=fed.linkage_key, **person)
    subject_id = _consent_call(
        fed, "/federation/enrol", "enrol", {"linkage_tokens": tokens}
    ).json()["subject_id"]
    person_id = fed.add_person("gp", **person)
    fed.link("gp", subject_id, person_id)
    fed.add_need("gp", person_id, category="physical_health", description="asthma review")
    code = _consent_call(
        fed,
        "/federation/customers",
        "create_customer",
        {"subject_id": subject_id, "username": "nadia"},
    ).json()["activation_code"]
    httpx.post(
        f"{consent_url}/customer/activate",
        json={"activation_code": code, "password": "another passphrase"},
    )
    credentials = {"username": "nadia", "password": "another passphrase"}
    login = httpx.post(f"{consent_url}/customer/login", json=credentials)
    auth = {"Authorization": f"Bearer {login.json()['access_token']}"}

    def provision(categories: list[str]) -> dict:
        return {
            "purposes": ["care_coordination"],
            "recipients": ["council"],
            "categories": categories,
            "actions": ["read"],
        }

    granted = httpx.post(
        f"{consent_url}/me/consents",
        json={"provisions": [provision(["physical_health", "contact_details"])]},
        headers=auth,
    )
    consent_id = granted.json()["id"]

    def token() -> str:
        body = {"subject_id": subject_id, "purpose": "care_coordination"}
        issued = _consent_call(fed, "/federation/consent-token", "consent_token", body)
        return str(issued.json()["token"])

    broad = token()
    assert _share(fed, subject_id, broad)["decision"]["categories"] == ["physical_health"]
    # No wait for the next second: a token issued in the same whole second as the
    # change is refused too (``RevocationSet.refuses``: issued_at <= changed).
    narrowed = httpx.patch(
        f"{consent_url}/me/consents/{consent_id}",
        json={"provisions": [provision(["contact_details"])]},
        headers=auth,
    )
    assert narrowed.status_code == 200, narrowed.text
    changed_at = _wait_for_revocation_at(fed, "gp", consent_id)

    refused = _share(fed, subject_id, broad)
    assert refused["decision"]["allow"] is False
    assert refused["needs"] == []

    # The consent service's next token carries the narrowed version ...
    consent_keys = fed.registry.verify_keys("consent")
    fresh = verify_consent_token(token(), verify_keys=consent_keys, requester="council")
    assert [(p.consent_id, p.categories) for p in fresh.provisions] == [
        (consent_id, ["contact_details"])
    ]
    # ... and the GP, asked with it once issued after the change (the same claims
    # signed with the consent service's key on a clock one second past the change,
    # rather than waiting for that second), releases nothing of physical health.
    later = fed.consent_token(
        requester="council",
        subject_id=subject_id,
        purpose="care_coordination",
        provisions=fresh.provisions,
        now=changed_at + 1,
    )
    current = _share(fed, subject_id, later)
    assert "physical_health" not in current["decision"]["categories"]
    assert current["needs"] == []

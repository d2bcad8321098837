"""A consent to refer, granted through the customer API, is what the acting policy needs.

The consent service issues the token; the node side verifies it and turns it into
the policy's ``consent`` input exactly as a share request does
(``federation.consent_token``), and ``joinedup.act`` decides the referral on both
embedded Rego implementations.
"""

import uuid

import pytest

from federation.consent_token import consent_policy_input, verify_consent_token
from node.policy.embedded import REGO_NAMES, EmbeddedRegoEngine
from node.policy.engine import DEFAULT_POLICY_DIR
from tests.consent.conftest import bearer, provision


@pytest.fixture(scope="module", params=REGO_NAMES)
def engine(request):
    built = EmbeddedRegoEngine(DEFAULT_POLICY_DIR, rego=request.param, cache_size=0)
    assert built.load_error is None
    return built


@pytest.fixture
def customer(world):
    name = uuid.uuid4().hex[:10]
    subject = world.enrol(f"Refer{name}")
    return subject, world.customer(subject, f"refer.{name}")


def _referral_decision(world, engine, subject, *, contact_details):
    claims = verify_consent_token(
        world.token(subject, purpose="referral", issuer="council"),
        verify_keys=[world.keys["consent"].verify_key],
        requester="council",
        subject_id=subject,
        purpose="referral",
    )
    return engine.decide(
        "act",
        {
            "requester": {"org_id": "council", "org_kind": "council", "role": "frontline"},
            "holder": {"org_id": "refuge", "org_kind": "charity"},
            "purpose": "referral",
            "subject_id": None,
            "consent": consent_policy_input(claims),
            "action": "refer",
            "category": "victim_support",
            "urgency": "urgent",
            "contact_details": contact_details,
            "emergency": None,
        },
    )


def test_a_granted_refer_consent_allows_the_referral_and_its_contact_details(
    world, engine, customer
):
    subject, token = customer
    granted = world.client.post(
        "/me/consents",
        json={
            "provisions": [
                provision(
                    purposes=["referral"],
                    categories=["victim_support", "contact_details"],
                    actions=["refer"],
                )
            ]
        },
        headers=bearer(token),
    )
    assert granted.status_code == 201, granted.text
    assert granted.json()["provisions"][0]["actions"] == ["refer"]
    decision = _referral_decision(world, engine, subject, contact_details=True)
    assert decision.allow is True
    assert decision.obligations == ["receive_contact_details"]


def test_a_consent_to_see_records_does_not_allow_a_referral(world, engine, customer):
    subject, token = customer
    granted = world.client.post(
        "/me/consents",
        json={"provisions": [provision(purposes=["referral"], categories=["victim_support"])]},
        headers=bearer(token),
    )
    assert granted.status_code == 201, granted.text
    decision = _referral_decision(world, engine, subject, contact_details=False)
    assert decision.allow is False
    assert any("has not consented to refer" in r for r in decision.reasons)

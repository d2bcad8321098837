"""Consents through the customer API: grant, amend, revoke, history, and who may see what."""

import datetime as dt
import uuid

import pytest

from federation.consent_token import verify_consent_token
from federation.jose import read_unverified_claims
from tests.consent.conftest import bearer, provision


@pytest.fixture
def ann(world):
    """A fresh customer per test: a new person and username in the module's service."""
    name = uuid.uuid4().hex[:10]
    subject = world.enrol(f"Smith{name}")
    return subject, world.customer(subject, f"ann.{name}")


@pytest.fixture(scope="module")
def shared_customer(world):
    """One customer for tests that never look at the customer's other consents."""
    subject = world.enrol("Shared")
    return subject, world.customer(subject, "shared.customer")


def _grant(world, token, **overrides):
    body = {"provisions": [provision()], **overrides}
    return world.client.post("/me/consents", json=body, headers=bearer(token))


def test_me_names_the_customers_subject(world, ann):
    subject, token = ann
    me = world.client.get("/me", headers=bearer(token))
    assert me.json()["subject_id"] == subject
    assert me.json()["username"].startswith("ann.")


def test_grant_then_token_lists_the_provision(world, ann):
    subject, token = ann
    granted = _grant(world, token, provisions=[provision(categories=["housing", "income"])])
    assert granted.status_code == 201, granted.text
    consent = granted.json()
    assert consent["status"] == "active"
    assert consent["subject_id"] == subject
    claims = verify_consent_token(
        world.token(subject),
        verify_keys=[world.keys["consent"].verify_key],
        requester="council",
        subject_id=subject,
        purpose="care_coordination",
    )
    assert [p.consent_id for p in claims.provisions] == [consent["id"]]
    assert claims.provisions[0].categories == ["housing", "income"]
    assert claims.max_age == 30


def test_token_omits_provisions_for_other_recipients_and_purposes(world, ann):
    subject, token = ann
    _grant(world, token, provisions=[provision(recipients=["gp"])])
    _grant(world, token, provisions=[provision(purposes=["safeguarding"])])
    keys = [world.keys["consent"].verify_key]
    council = verify_consent_token(world.token(subject), verify_keys=keys, requester="council")
    assert council.provisions == []
    gp = verify_consent_token(world.token(subject, issuer="gp"), verify_keys=keys, requester="gp")
    assert len(gp.provisions) == 1


def test_revoke_removes_the_provision_from_the_next_token_and_pushes(world, ann):
    subject, token = ann
    consent_id = _grant(world, token).json()["id"]
    revoked = world.client.post(f"/me/consents/{consent_id}/revoke", headers=bearer(token))
    assert revoked.status_code == 200
    assert revoked.json()["status"] == "inactive"
    claims = verify_consent_token(
        world.token(subject), verify_keys=[world.keys["consent"].verify_key], requester="council"
    )
    assert claims.provisions == []
    assert sorted(p["url"] for p in world.pushes) == [
        "http://council.test/federation/revocations",
        "http://gp.test/federation/revocations",
        "http://police.test/federation/revocations",
    ]


def test_a_grant_is_announced_to_every_node_before_the_customer_is_answered(world, ann):
    from federation.envelope import ReplayCache, verify_request
    from federation.registry import load_registry

    subject, token = ann
    consent_id = _grant(world, token).json()["id"]
    # Delivered within the grant's own request, not later by the worker.
    assert sorted(p["url"] for p in world.grants) == [
        "http://council.test/federation/consent-grants",
        "http://gp.test/federation/consent-grants",
        "http://police.test/federation/consent-grants",
    ]
    assert world.pushes == []  # a grant refuses nothing: no revocation push
    registry = load_registry(world.data_dir / "registry.json", world.authority.verify_key)
    verified = verify_request(
        world.grants[0]["request"],
        registry=registry,
        audience=world.grants[0]["url"].split("//")[1].split(".")[0],
        replay_cache=ReplayCache(),
        expected_action="consent_granted",
    )
    assert verified.issuer == "consent"
    assert verified.body["consent_id"] == consent_id
    assert verified.body["subject_id"] == subject
    assert verified.idempotency_key


def test_pushed_revocation_is_signed_by_the_consent_service(world, shared_customer):
    from federation.envelope import ReplayCache, verify_request
    from federation.registry import load_registry

    subject, token = shared_customer
    consent_id = _grant(world, token).json()["id"]
    world.client.post(f"/me/consents/{consent_id}/revoke", headers=bearer(token))
    registry = load_registry(world.data_dir / "registry.json", world.authority.verify_key)
    push = next(p for p in world.pushes if p["url"].startswith("http://gp.test"))
    verified = verify_request(
        push["request"],
        registry=registry,
        audience="gp",
        replay_cache=ReplayCache(),
        expected_action="revoke",
    )
    assert verified.issuer == "consent"
    assert verified.body["consent_id"] == consent_id
    assert verified.body["subject_id"] == subject
    assert isinstance(verified.body["revoked_at"], int)


def test_revoking_twice_is_idempotent(world, shared_customer):
    _, token = shared_customer
    consent_id = _grant(world, token).json()["id"]
    first = world.client.post(f"/me/consents/{consent_id}/revoke", headers=bearer(token))
    second = world.client.post(f"/me/consents/{consent_id}/revoke", headers=bearer(token))
    assert first.status_code == second.status_code == 200
    assert first.json() == second.json()
    history = world.client.get(f"/me/consents/{consent_id}/history", headers=bearer(token))
    assert [e["kind"] for e in history.json()["data"]] == ["granted", "revoked"]
    assert len(world.pushes) == 3  # one push per organisation, not two


def test_amendment_is_appended_and_history_keeps_every_version(world, ann):
    subject, token = ann
    consent_id = _grant(world, token).json()["id"]
    amended = world.client.patch(
        f"/me/consents/{consent_id}",
        json={"provisions": [provision(categories=["education"])]},
        headers=bearer(token),
    )
    assert amended.status_code == 200, amended.text
    assert amended.json()["version"] == 2
    assert amended.json()["provisions"][0]["categories"] == ["education"]
    history = world.client.get(f"/me/consents/{consent_id}/history", headers=bearer(token)).json()
    assert [e["kind"] for e in history["data"]] == ["granted", "amended"]
    assert history["data"][0]["snapshot"]["provisions"][0]["categories"] == ["housing"]
    assert history["data"][1]["snapshot"]["provisions"][0]["categories"] == ["education"]
    claims = verify_consent_token(
        world.token(subject), verify_keys=[world.keys["consent"].verify_key], requester="council"
    )
    assert claims.provisions[0].categories == ["education"]


def test_an_amendment_is_pushed_to_every_node_like_a_revocation(world, ann):
    _, token = ann
    consent_id = _grant(world, token).json()["id"]
    before = len(world.pushes)
    amended = world.client.patch(
        f"/me/consents/{consent_id}",
        json={"provisions": [provision(categories=["income"])]},
        headers=bearer(token),
    ).json()
    pushed = [read_unverified_claims(p["request"])["body"] for p in world.pushes[before:]]
    assert len(pushed) == 3  # council, gp and police
    assert {p["consent_id"] for p in pushed} == {consent_id}
    changed_at = int(dt.datetime.fromisoformat(amended["updated_at"]).timestamp())
    assert {p["revoked_at"] for p in pushed} == {changed_at}


def test_amending_only_the_period_keeps_the_provisions(world, shared_customer):
    _, token = shared_customer
    consent_id = _grant(world, token).json()["id"]
    amended = world.client.patch(
        f"/me/consents/{consent_id}",
        json={"period_end": "2099-01-01T00:00:00Z"},
        headers=bearer(token),
    ).json()
    assert amended["provisions"][0]["categories"] == ["housing"]
    assert amended["period_end"].startswith("2099-01-01")


def test_a_revoked_consent_cannot_be_amended(world, shared_customer):
    _, token = shared_customer
    consent_id = _grant(world, token).json()["id"]
    world.client.post(f"/me/consents/{consent_id}/revoke", headers=bearer(token))
    response = world.client.patch(
        f"/me/consents/{consent_id}",
        json={"period_end": "2099-01-01T00:00:00Z"},
        headers=bearer(token),
    )
    assert response.status_code == 409


def test_an_advocate_grant_names_the_advocate(world, shared_customer):
    _, token = shared_customer
    granted = _grant(world, token, grantor_kind="advocate", grantor_name="Sam Advocate")
    assert granted.status_code == 201
    assert granted.json()["grantor_name"] == "Sam Advocate"
    nameless = _grant(world, token, grantor_kind="advocate")
    assert nameless.status_code == 422


@pytest.mark.parametrize(
    "body",
    [
        {"provisions": [provision(purposes=["marketing"])]},
        {"provisions": [provision(categories=["shoe_size"])]},
        {"provisions": [provision(actions=["delete"])]},
        {"provisions": [provision(recipients=["not-a-member"])]},
        {"provisions": []},
        {
            "provisions": [provision()],
            "period_start": "2030-01-02T00:00:00Z",
            "period_end": "2030-01-01T00:00:00Z",
        },
        {"provisions": [provision()], "period_end": "2001-01-01T00:00:00Z"},
        {"provisions": [provision()], "period_start": "2030-01-01T00:00:00"},
        {"provisions": [provision()], "grantor_name": "Not An Advocate"},
    ],
    ids=[
        "purpose",
        "category",
        "action",
        "recipient",
        "no-provisions",
        "end-before-start",
        "end-in-past",
        "naive-time",
        "customer-with-name",
    ],
)
def test_bad_grants_are_422_problems(world, shared_customer, body):
    _, token = shared_customer
    response = world.client.post("/me/consents", json=body, headers=bearer(token))
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"


def test_a_customer_cannot_read_or_revoke_another_customers_consent(world, ann):
    _, ann_token = ann
    bob_subject = world.enrol("Jones")
    bob_token = world.customer(bob_subject, "bob.jones")  # the only Jones in this module
    consent_id = _grant(world, ann_token).json()["id"]
    for method, path in [
        ("GET", f"/me/consents/{consent_id}"),
        ("GET", f"/me/consents/{consent_id}/history"),
        ("GET", f"/consents/{consent_id}/fhir"),
        ("POST", f"/me/consents/{consent_id}/revoke"),
        ("PATCH", f"/me/consents/{consent_id}"),
    ]:
        kwargs = {"json": {"period_end": "2099-01-01T00:00:00Z"}} if method == "PATCH" else {}
        response = world.client.request(method, path, headers=bearer(bob_token), **kwargs)
        assert response.status_code == 404, (method, path)
    assert world.client.get("/me/consents", headers=bearer(bob_token)).json()["count"] == 0
    still = world.client.get(f"/me/consents/{consent_id}", headers=bearer(ann_token)).json()
    assert still["status"] == "active"
    assert world.pushes == []


@pytest.mark.parametrize(
    "headers",
    [{}, {"Authorization": "Bearer nonsense"}, {"Authorization": "Basic abc"}],
    ids=["none", "garbage", "wrong-scheme"],
)
def test_customer_routes_need_a_valid_token(world, headers):
    for path in ["/me", "/me/consents"]:
        response = world.client.get(path, headers=headers)
        assert response.status_code in (401, 403), path
        assert response.headers["content-type"] == "application/problem+json"


def test_a_member_request_token_is_not_a_customer_token(world, ann):
    from federation.envelope import sign_request
    from tests.fixtures.wire import unchecked

    forged = sign_request(
        unchecked("login", {}), keys=world.keys["consent"], issuer="consent", audience="consent"
    )
    assert world.client.get("/me", headers=bearer(forged)).status_code == 401


def test_member_node_records_a_grant_for_a_present_customer(world):
    subject = world.enrol("Brown")  # enrolling again finds the same subject: fine here
    body = {"subject_id": subject, "grantor_kind": "customer", "provisions": [provision()]}
    granted = world.signed("/federation/grants", "grant", body)
    assert granted.status_code == 201, granted.text
    assert granted.json()["recorded_by"] == "council"
    unknown = world.signed("/federation/grants", "grant", {**body, "subject_id": "sub_nobody"})
    assert unknown.status_code == 404
    bad = world.signed("/federation/grants", "grant", {**body, "provisions": [{"x": 1}]})
    assert bad.status_code == 422


def test_member_node_records_a_revocation(world):
    subject = world.enrol("Brown")
    body = {"subject_id": subject, "provisions": [provision()]}
    consent_id = world.signed("/federation/grants", "grant", body).json()["id"]
    pushes_before = len(world.pushes)
    for _ in range(2):
        revoked = world.signed(
            "/federation/consents/revoke", "revoke_consent", {"consent_id": consent_id}
        )
        assert revoked.status_code == 200
        assert revoked.json()["status"] == "inactive"
    assert len(world.pushes) - pushes_before == 3  # one push per member node, once


def test_a_member_that_never_enrolled_the_person_cannot_grant_or_revoke(world):
    # Otherwise any member could record consent to itself for anyone, or revoke it.
    subject = world.enrol("Green")  # enrolled by the council only
    body = {"subject_id": subject, "grantor_kind": "customer", "provisions": [provision()]}
    refused = world.signed("/federation/grants", "grant", body, "gp")
    assert refused.status_code == 403
    assert refused.headers["content-type"].startswith("application/problem+json")
    assert "not enrolled" in refused.json()["detail"]
    consent_id = world.signed("/federation/grants", "grant", body).json()["id"]
    revoke = {"consent_id": consent_id}
    assert (
        world.signed("/federation/consents/revoke", "revoke_consent", revoke, "gp").status_code
        == 403
    )
    assert world.signed("/federation/consents/revoke", "revoke_consent", revoke).status_code == 200


def test_a_token_names_only_the_requester_among_the_recipients(world, ann):
    # The customer shares with the council and the police; the council's token
    # must not tell the council about the police.
    subject, token = ann
    _grant(world, token, provisions=[provision(recipients=["council", "police"])])
    claims = verify_consent_token(
        world.token(subject), verify_keys=[world.keys["consent"].verify_key], requester="council"
    )
    assert [p.recipients for p in claims.provisions] == [["council"]]

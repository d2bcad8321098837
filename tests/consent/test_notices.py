"""Emergency-access notices: a member records one, only its customer sees and reads it."""

import uuid

import pytest

from tests.consent.conftest import bearer


def _notice(subject: str, **overrides: object) -> dict[str, object]:
    return {
        "subject_id": subject,
        "kind": "emergency_access",
        "view_id": f"view_{uuid.uuid4().hex}",
        "basis": "safeguarding",
        "purpose": "safeguarding",
        "holders": ["gp", "council"],
        "categories": ["contact_details", "safety"],
        "occurred_at": "2026-11-23T19:52:00Z",
        **overrides,
    }


@pytest.fixture
def customer(world):
    name = uuid.uuid4().hex[:10]
    subject = world.enrol(f"Notice{name}")
    return subject, world.customer(subject, f"nina.{name}")


def test_a_member_records_a_notice_once_per_view(world, customer):
    subject, token = customer
    body = _notice(subject)
    first = world.signed("/federation/notices", "notify_customer", body, "police")
    assert first.status_code == 201, first.text
    again = world.signed("/federation/notices", "notify_customer", body, "police")
    assert again.status_code == 200
    assert again.json()["id"] == first.json()["id"]
    assert first.json()["from_org"] == "police"
    mine = world.client.get("/me/notices", headers=bearer(token)).json()
    assert [n["id"] for n in mine["data"]] == [first.json()["id"]]
    assert mine["data"][0]["read"] is False


def test_a_customer_marks_their_own_notice_read_and_nobody_elses(world, customer):
    subject, token = customer
    notice_id = world.signed(
        "/federation/notices", "notify_customer", _notice(subject), "police"
    ).json()["id"]
    other_subject = world.enrol(f"Other{uuid.uuid4().hex[:8]}")
    other = world.customer(other_subject, f"otto.{uuid.uuid4().hex[:8]}")
    assert world.client.get("/me/notices", headers=bearer(other)).json()["count"] == 0
    stolen = world.client.post(f"/me/notices/{notice_id}/read", headers=bearer(other))
    assert stolen.status_code == 404
    read = world.client.post(f"/me/notices/{notice_id}/read", headers=bearer(token))
    assert read.status_code == 200
    assert read.json()["read"] is True
    assert world.client.get("/me/notices", headers=bearer(token)).json()["data"][0]["read"]


@pytest.mark.parametrize(
    ("overrides", "status"),
    [
        ({"subject_id": "sub_nobody"}, 404),
        ({"kind": "marketing"}, 422),
        ({"basis": 'x"}'}, 422),
        ({"holders": []}, 422),
        ({"occurred_at": "yesterday"}, 422),
    ],
)
def test_bad_notices_are_problems(world, customer, overrides, status):
    subject, _ = customer
    response = world.signed(
        "/federation/notices", "notify_customer", _notice(subject, **overrides), "police"
    )
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")


def test_a_notice_needs_a_signed_request_from_a_member(world, customer):
    subject, _ = customer
    unsigned = world.client.post("/federation/notices", json=_notice(subject))
    assert unsigned.status_code in (400, 422)
    wrong_action = world.signed("/federation/notices", "grant", _notice(subject), "police")
    assert wrong_action.status_code in (400, 401, 403)

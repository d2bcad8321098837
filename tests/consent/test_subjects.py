import datetime as dt

from federation.enrolment import ENROLMENT_TYP
from federation.envelope import sign_request
from federation.jose import read_unverified_header, verify_jwt
from federation.keys import MemberKeys
from federation.wire.enrol import EnrolRequest


def test_same_person_enrolled_twice_gets_one_subject(world):
    first = world.enrol("Smith", issuer="council")
    again = world.enrol("Smith", issuer="gp")
    assert first == again
    assert first.startswith("sub_")


def test_different_people_get_different_subjects(world):
    assert world.enrol("Smith") != world.enrol("Jones")


def test_any_shared_token_finds_the_subject(world):
    with_nn = world.enrol("Smith", nn="943 476 5919")
    moved_house = world.enrol("Smith", nn="9434765919", postcode="ZZ9 9ZZ")
    assert with_nn == moved_house


def test_first_enrolment_reports_created(world):
    body = {"linkage_tokens": ["v1.nn." + "a1" * 32]}
    first = world.signed("/federation/enrol", "enrol", body)
    second = world.signed("/federation/enrol", "enrol", body)
    assert first.json()["created"] is True
    assert second.json()["subject_id"] == first.json()["subject_id"]
    assert second.json()["created"] is False


def test_enrolment_answers_with_a_statement_binding_the_tokens_to_the_subject(world):
    tokens = ["v1.nn." + "c1" * 32, "v1.ndp." + "c2" * 32]
    answer = world.signed("/federation/enrol", "enrol", {"linkage_tokens": tokens}).json()
    header = read_unverified_header(answer["enrolment"])
    claims = verify_jwt(answer["enrolment"], world.keys["consent"].verify_key, typ=ENROLMENT_TYP)
    assert header["typ"] == ENROLMENT_TYP
    assert claims["sub"] == answer["subject_id"]
    assert claims["aud"] == "council"
    assert claims["tokens"] == sorted(tokens)
    assert 0 < claims["exp"] - claims["iat"] <= 300


def test_tokens_of_two_subjects_are_a_conflict_not_a_merge(world):
    world.signed("/federation/enrol", "enrol", {"linkage_tokens": ["v1.nn." + "a1" * 32]})
    world.signed("/federation/enrol", "enrol", {"linkage_tokens": ["v1.nn." + "b1" * 32]})
    both = {"linkage_tokens": ["v1.nn." + "a1" * 32, "v1.nn." + "b1" * 32]}
    response = world.signed("/federation/enrol", "enrol", both)
    assert response.status_code == 409
    assert response.headers["content-type"] == "application/problem+json"


def test_malformed_linkage_tokens_are_422(world):
    for body in [{"linkage_tokens": []}, {"linkage_tokens": ["Ann Smith 1980"]}, {}]:
        response = world.signed("/federation/enrol", "enrol", body)
        assert response.status_code == 422, body


def test_enrolment_from_a_stranger_is_refused(world):
    stranger = MemberKeys.generate()
    token = sign_request(
        EnrolRequest(linkage_tokens=["v1.nn." + "c1" * 32]),
        keys=stranger,
        issuer="mallory",
        audience="consent",
    )
    response = world.client.post("/federation/enrol", json={"request": token})
    assert response.status_code == 403


def test_enrolment_signed_with_the_wrong_key_is_refused(world):
    token = sign_request(
        EnrolRequest(linkage_tokens=["v1.nn." + "c1" * 32]),
        keys=MemberKeys.generate(),
        issuer="council",
        audience="consent",
    )
    assert world.client.post("/federation/enrol", json={"request": token}).status_code == 401


def test_a_request_for_another_action_is_refused(world):
    response = world.signed("/federation/enrol", "consent_token", {"linkage_tokens": []})
    assert response.status_code == 401


def test_a_replayed_enrolment_is_refused(world):
    token = sign_request(
        EnrolRequest(linkage_tokens=["v1.nn." + "d1" * 32]),
        keys=world.keys["council"],
        issuer="council",
        audience="consent",
    )
    assert world.client.post("/federation/enrol", json={"request": token}).status_code == 200
    assert world.client.post("/federation/enrol", json={"request": token}).status_code == 409


def test_unsigned_garbage_is_a_4xx_problem(world):
    for payload in [{"request": "x.y.z"}, {"request": "nope"}, {}, [], {"request": 5}]:
        response = world.client.post("/federation/enrol", json=payload)
        assert 400 <= response.status_code < 500, payload
        assert response.headers["content-type"] == "application/problem+json"


def test_dates_are_never_sent(world):
    # Enrolment carries only keyed hashes: nothing resembling the date of birth.
    subject = world.enrol("Smith", dob=dt.date(1975, 5, 6))
    assert "1975" not in subject

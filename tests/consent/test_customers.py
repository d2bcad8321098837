"""Customer accounts: activation codes, login, and what a member node may ask for."""

import uuid

import pytest
from sqlmodel import Session

from consent.customers.service import create_customer_account
from consent.db import make_engine
from tests.consent.conftest import bearer


def _account(world, name=None):
    name = name or uuid.uuid4().hex[:8]
    subject = world.enrol(f"Cust{name}")
    made = world.signed(
        "/federation/customers", "create_customer", {"subject_id": subject, "username": f"c.{name}"}
    )
    return subject, f"c.{name}", made


def test_activation_code_is_single_use(world):
    _, username, made = _account(world)
    assert made.status_code == 201
    code = made.json()["activation_code"]
    body = {"activation_code": code, "password": "a long passphrase"}
    assert world.client.post("/customer/activate", json=body).status_code == 200
    assert world.client.post("/customer/activate", json=body).status_code == 401
    assert world.login(username, "a long passphrase")


def test_login_before_activation_fails(world):
    _, username, _ = _account(world)
    response = world.client.post(
        "/customer/login", json={"username": username, "password": "anything at all"}
    )
    assert response.status_code == 401
    assert response.headers["www-authenticate"].startswith("Bearer")


def test_wrong_password_and_unknown_user_look_the_same(world):
    _, username, made = _account(world)
    code = made.json()["activation_code"]
    world.client.post(
        "/customer/activate", json={"activation_code": code, "password": "a long passphrase"}
    )
    wrong = world.client.post("/customer/login", json={"username": username, "password": "nope"})
    ghost = world.client.post("/customer/login", json={"username": "ghost", "password": "nope"})
    assert wrong.status_code == ghost.status_code == 401
    assert wrong.json()["detail"] == ghost.json()["detail"]


def test_short_password_is_refused(world):
    _, _, made = _account(world)
    body = {"activation_code": made.json()["activation_code"], "password": "short"}
    assert world.client.post("/customer/activate", json=body).status_code == 422


def test_one_account_per_customer_and_per_username(world):
    subject, username, _ = _account(world)
    again = world.signed(
        "/federation/customers", "create_customer", {"subject_id": subject, "username": "other.x"}
    )
    assert again.status_code == 409
    other = world.enrol(f"Other{uuid.uuid4().hex[:6]}")
    taken = world.signed(
        "/federation/customers", "create_customer", {"subject_id": other, "username": username}
    )
    assert taken.status_code == 409


def test_account_for_unknown_subject_is_404(world):
    response = world.signed(
        "/federation/customers", "create_customer", {"subject_id": "sub_nobody", "username": "nob"}
    )
    assert response.status_code == 404


@pytest.mark.parametrize("username", ["", "a", "x" * 80, "white space", "semi;colon"])
def test_bad_usernames_are_422(world, username):
    subject = world.enrol("Badname")
    response = world.signed(
        "/federation/customers", "create_customer", {"subject_id": subject, "username": username}
    )
    assert response.status_code == 422


def test_create_customer_account_service_for_the_cli(world):
    subject = world.enrol(f"Cli{uuid.uuid4().hex[:6]}")
    engine = make_engine(f"sqlite:///{world.data_dir}/consent.db")
    try:
        with Session(engine) as session:
            create_customer_account(
                session=session,
                subject_id=subject,
                username="cli.user",
                password="a long passphrase",
            )
            session.commit()
    finally:
        engine.dispose()
    token = world.login("cli.user", "a long passphrase")
    assert world.client.get("/me", headers=bearer(token)).json()["subject_id"] == subject

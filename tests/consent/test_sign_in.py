"""Customer sign-in is braked, and a locked-out person has a way back in (issues 11.10, 12.8).

Against the in-process consent service of ``conftest.py``. Before: fourteen wrong
passwords and then the right one signed in at once, from one address any number of
usernames could be tried, and a person who forgot their password had no way back.
Now the portal and the API share ``appkit.throttle`` on the service's database, and
an organisation that enrolled the person issues a one-time recovery code
(``POST /federation/customers/recovery``), which the person uses on
``/portal/recover``. The spray test comes last: it locks this module's address.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from sqlmodel import Session, create_engine, select
from typer.testing import CliRunner

from appkit.throttle import PER_CLIENT, PER_USERNAME
from consent.customers.models import CustomerActivation, CustomerSignInThrottle
from joinedup.cli import app as cli_app
from tests.consent.conftest import ConsentWorld
from tests.consent.portal.test_portal import PASSWORD, csrf_from, new_customer, sign_in

NEW_PASSWORD = "a brand new passphrase"


class Records(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)

    def text(self) -> str:
        return "\n".join(f"{r.getMessage()} {vars(r)}" for r in self.records)


@pytest.fixture
def logged() -> Iterator[Records]:
    handler = Records()
    logger = logging.getLogger("joinedup.consent.customers")
    logger.addHandler(handler)
    try:
        yield handler
    finally:
        logger.removeHandler(handler)


def api_login(world: ConsentWorld, username: str, password: str) -> Any:
    return world.client.post("/customer/login", json={"username": username, "password": password})


def recovery(world: ConsentWorld, subject_id: str, issuer: str = "council") -> Any:
    return world.signed(
        "/federation/customers/recovery", "recover_customer", {"subject_id": subject_id}, issuer
    )


def reset_on_portal(world: ConsentWorld, code: str, password: str, again: str = "") -> Any:
    token = csrf_from(world.client.get("/portal/recover").text)
    return world.client.post(
        "/portal/recover",
        data={
            "code": code,
            "password": password,
            "password_again": again or password,
            "csrf_token": token,
        },
        follow_redirects=False,
    )


def activations(world: ConsentWorld) -> list[CustomerActivation]:
    engine = create_engine(f"sqlite:///{world.data_dir / 'consent.db'}")
    try:
        with Session(engine) as session:
            return list(session.exec(select(CustomerActivation)).all())
    finally:
        engine.dispose()


def test_wrong_passwords_lock_the_username_even_for_the_right_one(
    world: ConsentWorld, logged: Records
) -> None:
    _, username, _ = new_customer(world)
    for _ in range(PER_USERNAME.max_failures):
        assert api_login(world, username, "not my password").status_code == 401
    locked = api_login(world, username, PASSWORD)
    assert locked.status_code == 429
    assert locked.headers["content-type"] == "application/problem+json"
    assert "for this username" in locked.json()["detail"]
    assert 1 <= int(locked.headers["retry-after"]) <= PER_USERNAME.lockout_s
    page = sign_in(world.client, username, PASSWORD)
    assert page.status_code == 429
    assert "Too many failed sign-ins for this username" in page.text
    assert "/portal/recover" in page.text
    assert "joinedup_customer" not in page.headers.get("set-cookie", "")
    # Logged, without the username or the password.
    assert "customer sign-in refused" in logged.text()
    assert username not in logged.text()
    assert "not my password" not in logged.text()


def test_an_enrolling_organisation_issues_a_recovery_code_that_sets_a_new_password(
    world: ConsentWorld, logged: Records
) -> None:
    subject_id, username, _ = new_customer(world)
    for _ in range(PER_USERNAME.max_failures):
        api_login(world, username, "forgotten it")
    issued = recovery(world, subject_id)
    assert issued.status_code == 201, issued.text
    assert issued.json()["username"] == username
    code = issued.json()["recovery_code"]
    login_page = world.client.get("/portal/login").text
    assert 'href="/portal/recover"' in login_page
    response = reset_on_portal(world, code, NEW_PASSWORD)
    assert response.status_code == 303
    assert response.headers["location"] == "/portal/login?reset=1"
    assert "Your new password is set" in world.client.get("/portal/login?reset=1").text
    # The lockout is lifted, the new password works, the old one does not.
    assert api_login(world, username, NEW_PASSWORD).status_code == 200
    assert api_login(world, username, PASSWORD).status_code == 401
    # A code works once.
    again = reset_on_portal(world, code, "yet another passphrase")
    assert again.status_code == 401
    assert "did not work" in again.text
    # Recorded: purpose, issuer, used; logged without the username or the code.
    [row] = [a for a in activations(world) if a.purpose == "recovery" and a.used_at]
    assert row.issued_by == "council"
    assert code not in logged.text()
    assert username not in logged.text()
    assert "customer password set with a one-time code" in logged.text()


def test_only_an_enrolling_organisation_may_issue_a_recovery_code(world: ConsentWorld) -> None:
    subject_id, _, _ = new_customer(world)
    refused = recovery(world, subject_id, issuer="police")
    assert refused.status_code == 403
    assert refused.headers["content-type"] == "application/problem+json"
    missing = recovery(world, "sub_" + "Z" * 16)
    assert missing.status_code in (403, 404)
    enrolled_only = world.enrol(family=f"Family{uuid.uuid4().hex[:8]}")
    assert recovery(world, enrolled_only).status_code == 404  # enrolled, but no account


def test_a_new_code_voids_the_earlier_one(world: ConsentWorld) -> None:
    subject_id, username, _ = new_customer(world)
    first = recovery(world, subject_id).json()["recovery_code"]
    second = recovery(world, subject_id).json()["recovery_code"]
    assert reset_on_portal(world, first, NEW_PASSWORD).status_code == 401
    assert reset_on_portal(world, second, NEW_PASSWORD).status_code == 303
    assert api_login(world, username, NEW_PASSWORD).status_code == 200


@pytest.mark.parametrize(
    ("password", "again", "message"),
    [
        ("short", "short", "at least"),
        (NEW_PASSWORD, NEW_PASSWORD + "!", "not the same"),
    ],
)
def test_the_recovery_form_explains_what_to_fix(
    world: ConsentWorld, password: str, again: str, message: str
) -> None:
    response = reset_on_portal(world, "any-code-at-all", password, again)
    assert response.status_code == 422
    assert message in response.text


def test_the_operator_can_issue_a_recovery_code_at_the_command_line(
    world: ConsentWorld, monkeypatch: pytest.MonkeyPatch
) -> None:
    subject_id, username, _ = new_customer(world)
    monkeypatch.setenv("JOINEDUP_CONSENT_DATA_DIR", str(world.data_dir))
    monkeypatch.setenv("JOINEDUP_CONSENT_DEMO", "true")
    result = CliRunner().invoke(cli_app, ["consent", "recovery-code", "--subject-id", subject_id])
    assert result.exit_code == 0, result.output
    code = result.output.split(": ", 1)[1].split()[0]
    assert reset_on_portal(world, code, NEW_PASSWORD).status_code == 303
    assert api_login(world, username, NEW_PASSWORD).status_code == 200
    assert any(a.issued_by == "cli" and a.purpose == "recovery" for a in activations(world))


def test_the_throttle_stores_no_username(world: ConsentWorld) -> None:
    _, username, _ = new_customer(world)
    api_login(world, username, "one wrong guess")
    engine = create_engine(f"sqlite:///{world.data_dir / 'consent.db'}")
    try:
        with Session(engine) as session:
            rows = session.exec(select(CustomerSignInThrottle)).all()
    finally:
        engine.dispose()
    assert rows
    assert all(username not in str(row) for row in rows)


# Last: from here on this module's (one) client address is locked.
def test_a_password_spray_from_one_address_is_locked(world: ConsentWorld) -> None:
    _, username, _ = new_customer(world)
    statuses = [
        api_login(world, f"sprayed-{uuid.uuid4().hex[:8]}", "Summer2026!").status_code
        for _ in range(PER_CLIENT.max_failures)
    ]
    assert 429 in statuses  # earlier tests' failures here count too: one address
    locked = api_login(world, username, PASSWORD)
    assert locked.status_code == 429
    assert "from this address" in locked.json()["detail"]

"""Audited sign-in and staff administration (``node.auth.flows``), SQLite and PostgreSQL.

Sessions here commit for real, as a request's would, so each test names its own
request ids and usernames and reads its entries back in a fresh session: what a
test sees is what was committed, not what is pending in the caller's transaction.
"""

from __future__ import annotations

import uuid

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from appkit.throttle import PER_CLIENT, Limit, SignInThrottle
from federation.errors import Conflict
from federation.keys import MemberKeys
from node.audit.models import AuditEntry
from node.audit.service import sign_tree_head_now
from node.audit.verify import verify_log
from node.auth import flows
from node.auth.exceptions import SignInRefused, TooManySignIns
from node.auth.models import Staff, StaffSignInThrottle
from node.auth.tokens import staff_pseudonym
from tests.fixtures.auth import TEST_PASSWORD, make_staff

ORG = "council-a"


@pytest.fixture(scope="module")
def keys() -> MemberKeys:
    return MemberKeys.generate()


@pytest.fixture(scope="module")
def accounts(db_engine: Engine) -> dict[str, int]:
    """Accounts made once per module (argon2id is slow): an admin, a worker, a leaver."""
    ids = {
        "admin": make_staff(db_engine, role="admin", username="flow-admin")[0],
        "worker": make_staff(db_engine, role="frontline", username="flow-worker")[0],
        "leaver": make_staff(db_engine, role="coordinator", username="flow-leaver")[0],
    }
    with Session(db_engine, expire_on_commit=False) as session:
        leaver = session.get(Staff, ids["leaver"])
        assert leaver is not None
        leaver.active = False
        session.add(leaver)
        session.commit()
    return ids


@pytest.fixture
def request_id() -> str:
    return f"test-{uuid.uuid4().hex}"


def entries_for(engine: Engine, request_id: str) -> list[AuditEntry]:
    with Session(engine) as session:
        statement = select(AuditEntry).where(AuditEntry.request_id == request_id)
        return list(session.exec(statement.order_by(sa.asc(AuditEntry.seq))).all())


def sign_in_as_a_request_would(
    engine: Engine,
    keys: MemberKeys,
    *,
    username: str,
    password: str,
    request_id: str,
    throttle: SignInThrottle | None = None,
    client: str | None = None,
) -> Staff:
    """Run the flow with ``node.db.get_session``'s rule: commit on success, else roll back."""
    session = Session(engine, expire_on_commit=False)
    try:
        staff = flows.sign_in_staff(
            session=session,
            engine=engine,
            throttle=throttle or SignInThrottle(engine, StaffSignInThrottle),
            username=username,
            password=password,
            # A fresh address per call unless a test means one: only its own count.
            client=client or f"client-{uuid.uuid4().hex}",
            channel="api",
            org_id=ORG,
            keys=keys,
            request_id=request_id,
        )
    except BaseException:
        session.rollback()
        raise
    else:
        session.commit()
        return staff
    finally:
        session.close()


def test_successful_sign_in_is_audited_with_pseudonym_and_role(
    db_engine: Engine, keys: MemberKeys, accounts: dict[str, int], request_id: str
) -> None:
    staff = sign_in_as_a_request_would(
        db_engine, keys, username="flow-worker", password=TEST_PASSWORD, request_id=request_id
    )
    assert staff.id == accounts["worker"]
    [entry] = entries_for(db_engine, request_id)
    assert (entry.kind, entry.decision, entry.action) == ("login", "allow", "sign_in")
    assert entry.actor_org == ORG
    assert entry.actor_staff == staff_pseudonym(accounts["worker"], keys)
    assert entry.actor_role == "frontline"
    assert entry.reason == "signed in (API token)"


@pytest.mark.parametrize(
    ("username", "password", "account", "cause"),
    [
        ("flow-worker", "not the password at all", "worker", "wrong password"),
        ("flow-nobody", TEST_PASSWORD, None, "unknown account"),
        ("flow-leaver", TEST_PASSWORD, "leaver", "disabled account"),
        ("flow-leaver", "not the password at all", "leaver", "wrong password"),
    ],
)
def test_refused_sign_in_is_committed_although_the_request_rolls_back(
    db_engine: Engine,
    keys: MemberKeys,
    accounts: dict[str, int],
    request_id: str,
    username: str,
    password: str,
    account: str | None,
    cause: str,
) -> None:
    with pytest.raises(SignInRefused, match="^invalid username or password$") as refused:
        sign_in_as_a_request_would(
            db_engine, keys, username=username, password=password, request_id=request_id
        )
    assert refused.value.status_code == 401
    [entry] = entries_for(db_engine, request_id)
    assert (entry.kind, entry.decision, entry.action) == ("login", "deny", "sign_in")
    expected_actor = staff_pseudonym(accounts[account], keys) if account else None
    assert entry.actor_staff == expected_actor
    assert entry.actor_role is None  # nobody proved they hold the account's role
    assert entry.reason == f"{cause} (API token)"
    stored = " ".join(str(v) for v in entry.canonical().values())
    assert password not in stored
    assert username not in stored


def test_repeated_failures_lock_the_username_and_each_refusal_is_audited(
    db_engine: Engine, keys: MemberKeys, accounts: dict[str, int]
) -> None:
    with db_engine.begin() as connection:  # earlier tests' failures for flow-worker
        connection.execute(sa.delete(StaffSignInThrottle.__table__))  # type: ignore[attr-defined]
    two_strikes = Limit("username", 2, 900.0, 60.0, "for this username")
    throttle = SignInThrottle(db_engine, StaffSignInThrottle, limits=(two_strikes, PER_CLIENT))
    ids = [f"test-{uuid.uuid4().hex}" for _ in range(3)]
    for rid in ids[:2]:
        with pytest.raises(SignInRefused):
            sign_in_as_a_request_would(
                db_engine,
                keys,
                username="flow-worker",
                password="guess guess guess",
                request_id=rid,
                throttle=throttle,
            )
    # Locked: even the right password is refused, without being checked.
    with pytest.raises(TooManySignIns) as locked:
        sign_in_as_a_request_would(
            db_engine,
            keys,
            username="flow-worker",
            password=TEST_PASSWORD,
            request_id=ids[2],
            throttle=throttle,
        )
    assert locked.value.status_code == 429
    assert 1 <= locked.value.retry_after_s <= 60
    reasons = [entries_for(db_engine, rid)[0].reason for rid in ids]
    assert reasons[0] == "wrong password (API token)"
    assert reasons[1] == ("wrong password (API token); sign-ins for this username locked for 60 s")
    assert reasons[2].startswith("too many failed sign-ins for this username")
    third = entries_for(db_engine, ids[2])[0]
    assert third.decision == "deny"
    assert third.actor_staff == staff_pseudonym(accounts["worker"], keys)
    # Another username is not affected.
    sign_in_as_a_request_would(
        db_engine,
        keys,
        username="flow-admin",
        password=TEST_PASSWORD,
        request_id=f"test-{uuid.uuid4().hex}",
        throttle=throttle,
    )


def test_staff_created_by_an_admin_is_an_admin_change(
    db_engine: Engine, keys: MemberKeys, accounts: dict[str, int], request_id: str
) -> None:
    admin = staff_pseudonym(accounts["admin"], keys)
    with Session(db_engine, expire_on_commit=False) as session:
        staff = flows.add_staff(
            session=session,
            org_id=ORG,
            actor_staff=admin,
            actor_role="admin",
            request_id=request_id,
            username="flow-coordinator2",
            password="a secret long enough",
            role="coordinator",
            display_name="Ada Example",
        )
        session.commit()
    [entry] = entries_for(db_engine, request_id)
    assert (entry.kind, entry.decision, entry.action) == ("admin_change", "allow", "staff_create")
    assert (entry.actor_staff, entry.actor_role) == (admin, "admin")
    assert entry.reason == f"created staff account {staff.id} with role coordinator"
    stored = " ".join(str(v) for v in entry.canonical().values())
    for secret_or_name in ("a secret long enough", "flow-coordinator2", "Ada Example", "$argon2"):
        assert secret_or_name not in stored


def test_staff_created_at_the_command_line_names_no_staff_actor(
    db_engine: Engine, accounts: dict[str, int]
) -> None:
    request_id = flows.cli_request_id()
    with Session(db_engine, expire_on_commit=False) as session:
        staff = flows.add_staff(
            session=session,
            org_id=ORG,
            actor_staff=None,
            actor_role=None,
            request_id=request_id,
            username="flow-from-cli",
            password="a secret long enough",
            role="auditor",
        )
        session.commit()
    [entry] = entries_for(db_engine, request_id)
    assert entry.kind == "admin_change"
    assert entry.actor_staff is None
    assert entry.reason == (
        f"created staff account {staff.id} with role auditor from the command line"
    )


def test_a_refused_creation_leaves_no_admin_change(
    db_engine: Engine, accounts: dict[str, int], request_id: str
) -> None:
    with Session(db_engine, expire_on_commit=False) as session:
        with pytest.raises(Conflict):
            flows.add_staff(
                session=session,
                org_id=ORG,
                actor_staff=None,
                actor_role=None,
                request_id=request_id,
                username="flow-worker",
                password="a secret long enough",
                role="auditor",
            )
        session.rollback()
    assert entries_for(db_engine, request_id) == []


@pytest.mark.parametrize(
    ("change", "reason", "decision"),
    [
        ({"role": "coordinator"}, "role frontline -> coordinator", "allow"),
        ({"active": False}, "disabled", "allow"),
        ({"password": "a brand new password"}, "password reset", "allow"),
        ({"display_name": "Someone Else"}, "display name changed", "allow"),
        (
            {"role": "auditor", "active": False, "password": "a brand new password"},
            "role frontline -> auditor, disabled, password reset",
            "allow",
        ),
        ({"role": "frontline", "active": True}, "no change", "info"),
        ({}, "no change", "info"),
    ],
)
def test_staff_changes_are_audited_by_what_changed(
    db_engine: Engine,
    keys: MemberKeys,
    accounts: dict[str, int],
    request_id: str,
    change: dict[str, object],
    reason: str,
    decision: str,
) -> None:
    admin = staff_pseudonym(accounts["admin"], keys)
    with Session(db_engine, expire_on_commit=False) as session:
        # A throwaway account starting as an active front-line worker, in this transaction.
        staff = Staff(username=f"t-{uuid.uuid4().hex[:8]}", role="frontline", password_hash="x")
        session.add(staff)
        session.flush()
        assert staff.id is not None
        flows.change_staff(
            session=session,
            org_id=ORG,
            actor_staff=admin,
            actor_role="admin",
            request_id=request_id,
            staff_id=staff.id,
            **change,  # type: ignore[arg-type]
        )
        session.commit()
    [entry] = entries_for(db_engine, request_id)
    assert (entry.kind, entry.decision, entry.action) == ("admin_change", decision, "staff_update")
    assert entry.actor_staff == admin
    assert entry.reason == f"staff account {staff.id}: {reason}"
    assert "a brand new password" not in entry.reason
    assert "Someone Else" not in entry.reason


def test_the_log_still_verifies_after_these_entries(
    db_engine: Engine, keys: MemberKeys, accounts: dict[str, int]
) -> None:
    # Order-free: it writes a refused sign-in and an admin change of its own, then
    # every entry in the log (with those of any test before it) must verify.
    with pytest.raises(SignInRefused):
        sign_in_as_a_request_would(
            db_engine,
            keys,
            username="flow-nobody",
            password="whatever it is",
            request_id=f"test-{uuid.uuid4().hex}",
        )
    with Session(db_engine, expire_on_commit=False) as session:
        flows.change_staff(
            session=session,
            org_id=ORG,
            actor_staff=staff_pseudonym(accounts["admin"], keys),
            actor_role="admin",
            request_id=f"test-{uuid.uuid4().hex}",
            staff_id=accounts["worker"],
        )
        sign_tree_head_now(session=session, keys=keys, org_id=ORG)
        session.commit()
    with db_engine.connect() as connection:
        report = verify_log(connection=connection, verify_keys=[keys.verify_key], org_id=ORG)
        kinds = connection.execute(sa.text("SELECT DISTINCT kind FROM audit_entry")).scalars()
        assert {"login", "admin_change"} <= set(kinds)
    assert report.ok, report.problems
    assert report.entries_checked == report.tree_size > 0

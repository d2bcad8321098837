"""The records API through a real uvicorn process, once per database backend.

Covers sign-in, the role matrix, CRUD + paging + search for every record type, and
the error contract: every bad input is a 4xx ``application/problem+json``.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from appkit.throttle import PER_USERNAME
from node.audit.models import AuditEntry
from tests.fixtures.auth import TEST_PASSWORD, bearer, login, make_staff, tokens_for_every_role
from tests.fixtures.servers import RunningServer, ServerSpec, uvicorn_process

pytestmark = pytest.mark.e2e

MAX_BODY = 65_536
RECORD_ROLES = {"frontline", "coordinator", "safeguarding_lead"}
GRACE = {
    "family_name": "Okafor",
    "given_name": "Grace",
    "date_of_birth": "1984-03-17",
    "postcode": "LS6 2AB",
}


@dataclass
class Node:
    server: RunningServer
    client: httpx.Client
    tokens: dict[str, str]
    engine: Engine

    def as_role(self, role: str) -> dict[str, str]:
        return bearer(self.tokens[role])


@pytest.fixture(scope="module")
def node(
    db_url: str, db_engine: Engine, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Node]:
    data_dir = tmp_path_factory.mktemp("node")
    spec = ServerSpec(
        name="council-a",
        factory="node.main:create_app_from_env",
        env={
            "JOINEDUP_NODE_ORG_ID": "council-a",
            "JOINEDUP_NODE_DATA_DIR": str(data_dir),
            "JOINEDUP_NODE_DATABASE_URL": db_url,
            "JOINEDUP_NODE_LINKAGE_KEY": "a-test-linkage-secret-0123456789",
            "JOINEDUP_NODE_MAX_BODY_BYTES": str(MAX_BODY),
        },
    )
    with uvicorn_process(spec, Path(data_dir) / "logs") as server:
        tokens = tokens_for_every_role(db_engine, server.base_url)
        with httpx.Client(base_url=server.base_url, timeout=10) as client:
            yield Node(server, client, tokens, db_engine)


def assert_problem(response: httpx.Response, status: int, detail_part: str = "") -> dict:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body = response.json()
    assert body["status"] == status
    assert detail_part in body.get("detail", "")
    return body


def new_person(node: Node, **overrides: object) -> dict:
    response = node.client.post(
        "/persons", json={**GRACE, **overrides}, headers=node.as_role("frontline")
    )
    assert response.status_code == 201, response.text
    return response.json()


# -- operations ---------------------------------------------------------------


def test_health_names_the_node(node: Node) -> None:
    response = node.client.get("/health")
    assert response.json() == {"status": "ok", "org_id": "council-a"}
    assert len(response.headers["x-request-id"]) >= 8


def test_wrong_password_is_401_problem_with_bearer_challenge(node: Node) -> None:
    response = node.client.post(
        "/auth/token", data={"username": "frontline-user", "password": "not the password"}
    )
    assert_problem(response, 401, "invalid username or password")
    assert response.headers["www-authenticate"].startswith("Bearer")


def test_me_reports_role_and_pseudonym_not_password(node: Node) -> None:
    body = node.client.get("/auth/me", headers=node.as_role("coordinator")).json()
    assert body["role"] == "coordinator"
    assert body["org_id"] == "council-a"
    assert len(body["pseudonym"]) == 16
    assert TEST_PASSWORD not in str(body)


@pytest.mark.parametrize(
    "role", ["frontline", "coordinator", "safeguarding_lead", "auditor", "admin", "analyst"]
)
def test_only_record_roles_see_records(node: Node, role: str) -> None:
    response = node.client.get("/persons", headers=node.as_role(role))
    if role in RECORD_ROLES:
        assert response.status_code == 200
    else:
        assert_problem(response, 403, "may not")


@pytest.mark.parametrize(
    "headers",
    [{}, {"Authorization": "Bearer not-a-jwt"}, {"Authorization": "Basic Zm9vOmJhcg=="}],
    ids=["none", "garbage", "basic"],
)
def test_records_need_a_valid_bearer_token(node: Node, headers: dict[str, str]) -> None:
    assert_problem(node.client.get("/persons", headers=headers), 401)


def test_deactivated_staff_token_stops_working_at_once(node: Node) -> None:
    staff_id, username = make_staff(node.engine, role="frontline", username="leaver")
    token = login(node.server.base_url, username)
    assert node.client.get("/persons", headers=bearer(token)).status_code == 200
    response = node.client.patch(
        f"/staff/{staff_id}", json={"active": False}, headers=node.as_role("admin")
    )
    assert response.status_code == 200
    assert response.json()["active"] is False
    assert_problem(node.client.get("/persons", headers=bearer(token)), 401, "not active")


def test_staff_admin_is_for_admins(node: Node) -> None:
    listing = node.client.get("/staff", headers=node.as_role("admin")).json()
    assert listing["count"] >= 6
    assert all("password_hash" not in s for s in listing["data"])
    assert_problem(node.client.get("/staff", headers=node.as_role("coordinator")), 403)
    created = node.client.post(
        "/staff",
        json={"username": "new.one", "role": "analyst", "password": "long enough password"},
        headers=node.as_role("admin"),
    )
    assert created.status_code == 201
    assert_problem(
        node.client.post(
            "/staff",
            json={"username": "new.one", "role": "analyst", "password": "long enough password"},
            headers=node.as_role("admin"),
        ),
        409,
    )


# -- audit of sign-ins and staff administration ------------------------------


def audited(node: Node, request_id: str) -> list[AuditEntry]:
    with Session(node.engine) as session:
        statement = select(AuditEntry).where(AuditEntry.request_id == request_id)
        return list(session.exec(statement.order_by(sa.asc(AuditEntry.seq))).all())


def pseudonym(node: Node, token: str) -> str:
    return str(node.client.get("/auth/me", headers=bearer(token)).json()["pseudonym"])


def test_failed_api_sign_in_is_audited_and_still_401(node: Node) -> None:
    rid = "api-test-wrong-password"
    response = node.client.post(
        "/auth/token",
        data={"username": "coordinator-user", "password": "not the password"},
        headers={"X-Request-Id": rid},
    )
    assert_problem(response, 401, "invalid username or password")
    [entry] = audited(node, rid)
    assert (entry.kind, entry.decision, entry.action) == ("login", "deny", "sign_in")
    assert entry.actor_staff == pseudonym(node, node.tokens["coordinator"])
    assert entry.reason == "wrong password (API token)"
    assert "not the password" not in entry.reason


def test_successful_api_sign_in_is_audited(node: Node) -> None:
    rid = "api-test-good-password"
    response = node.client.post(
        "/auth/token",
        data={"username": "auditor-user", "password": TEST_PASSWORD},
        headers={"X-Request-Id": rid},
    )
    assert response.status_code == 200
    [entry] = audited(node, rid)
    assert (entry.kind, entry.decision, entry.actor_role) == ("login", "allow", "auditor")
    assert entry.actor_staff == pseudonym(node, response.json()["access_token"])


def test_repeated_failed_api_sign_ins_answer_429_problem(node: Node) -> None:
    make_staff(node.engine, role="frontline", username="api-locked")
    for _ in range(PER_USERNAME.max_failures):
        response = node.client.post(
            "/auth/token", data={"username": "api-locked", "password": "a wrong guess"}
        )
        assert_problem(response, 401)
    rid = "api-test-locked-out"
    response = node.client.post(
        "/auth/token",
        data={"username": "api-locked", "password": TEST_PASSWORD},
        headers={"X-Request-Id": rid},
    )
    assert_problem(response, 429, "too many failed sign-ins")
    [entry] = audited(node, rid)
    assert (entry.kind, entry.decision) == ("login", "deny")
    assert entry.reason.startswith("too many failed sign-ins")


def test_staff_created_and_changed_by_api_are_admin_changes(node: Node) -> None:
    admin = pseudonym(node, node.tokens["admin"])
    created = node.client.post(
        "/staff",
        json={"username": "coordinator2", "role": "coordinator", "password": "long enough pw"},
        headers={**node.as_role("admin"), "X-Request-Id": "api-test-staff-create"},
    )
    assert created.status_code == 201
    staff_id = created.json()["id"]
    [entry] = audited(node, "api-test-staff-create")
    assert (entry.kind, entry.action, entry.decision) == ("admin_change", "staff_create", "allow")
    assert (entry.actor_staff, entry.actor_role) == (admin, "admin")
    assert entry.reason == f"created staff account {staff_id} with role coordinator"
    changed = node.client.patch(
        f"/staff/{staff_id}",
        json={"role": "frontline", "active": False, "password": "another long one"},
        headers={**node.as_role("admin"), "X-Request-Id": "api-test-staff-update"},
    )
    assert changed.status_code == 200
    [entry] = audited(node, "api-test-staff-update")
    assert (entry.kind, entry.action, entry.actor_staff) == ("admin_change", "staff_update", admin)
    assert entry.reason == (
        f"staff account {staff_id}: role coordinator -> frontline, disabled, password reset"
    )
    assert "another long one" not in entry.reason


def test_the_audit_log_verifies_after_sign_ins_and_admin_changes(node: Node) -> None:
    node.client.post("/auth/token", data={"username": "nobody", "password": "wrongpass1"})
    response = node.client.post("/audit/verify", headers=node.as_role("auditor"))
    assert response.status_code == 200, response.text
    report = response.json()
    assert report["ok"], report["problems"]
    assert report["entries_checked"] == report["tree_size"] > 0


# -- records ------------------------------------------------------------------


def test_person_create_read_update_round_trip(node: Node) -> None:
    person = new_person(node, local_ref="CRM-RT-1")
    assert "linkage_tokens" not in person
    fetched = node.client.get(f"/persons/{person['id']}", headers=node.as_role("coordinator"))
    assert fetched.json() == person
    patched = node.client.patch(
        f"/persons/{person['id']}", json={"postcode": "LS7 1QT"}, headers=node.as_role("frontline")
    ).json()
    assert patched["postcode"] == "LS7 1QT"
    assert patched["family_name"] == "Okafor"
    assert patched["updated_at"] > person["updated_at"]


def test_person_search_by_name_words_and_local_ref(node: Node) -> None:
    new_person(node, local_ref="SRCH-1", family_name="Zebedee", given_name="Amara")
    new_person(node, local_ref="SRCH-2", family_name="Zebedee", given_name="Bola")
    headers = node.as_role("frontline")
    both = node.client.get("/persons", params={"q": "zebedee"}, headers=headers).json()
    assert {p["local_ref"] for p in both["data"]} == {"SRCH-1", "SRCH-2"}
    one = node.client.get("/persons", params={"q": "Bola ZEB"}, headers=headers).json()
    assert [p["local_ref"] for p in one["data"]] == ["SRCH-2"]
    by_ref = node.client.get("/persons", params={"q": "SRCH-1"}, headers=headers).json()
    assert [p["given_name"] for p in by_ref["data"]] == ["Amara"]


def test_paging_has_a_maximum_and_reports_the_total(node: Node) -> None:
    for n in range(3):
        new_person(node, local_ref=f"PAGE-{n}", family_name="Pager")
    headers = node.as_role("frontline")
    page = node.client.get(
        "/persons", params={"q": "pager", "offset": 1, "limit": 1}, headers=headers
    ).json()
    assert page["count"] == 3
    assert [p["local_ref"] for p in page["data"]] == ["PAGE-1"]
    assert_problem(node.client.get("/persons", params={"limit": 101}, headers=headers), 422)
    assert_problem(node.client.get("/persons", params={"offset": -1}, headers=headers), 422)


def test_need_lifecycle_and_recorder_pseudonym(node: Node) -> None:
    person = new_person(node)
    headers = node.as_role("coordinator")
    me = node.client.get("/auth/me", headers=headers).json()
    need = node.client.post(
        "/needs",
        json={
            "person_id": person["id"],
            "category": "housing",
            "since": "2024-09-01",
            "severity": "high",
            "description": "Eviction notice served",
        },
        headers=headers,
    )
    assert need.status_code == 201
    assert need.json()["recorded_by"] == me["pseudonym"]
    need_id = need.json()["id"]
    updated = node.client.patch(
        f"/needs/{need_id}", json={"status": "in_progress"}, headers=headers
    ).json()
    assert updated["status"] == "in_progress"
    listed = node.client.get(
        "/needs", params={"person_id": person["id"], "category": "housing"}, headers=headers
    ).json()
    assert [n["id"] for n in listed["data"]] == [need_id]


def test_actions_and_contacts_belong_to_a_person(node: Node) -> None:
    person = new_person(node)
    headers = node.as_role("safeguarding_lead")
    need = node.client.post(
        "/needs",
        json={"person_id": person["id"], "category": "income", "since": "2024-01-01"},
        headers=headers,
    ).json()
    action = node.client.post(
        "/actions",
        json={
            "person_id": person["id"],
            "need_id": need["id"],
            "what": "Apply for DHP",
            "owner": "Housing options",
            "due": "2030-01-31",
        },
        headers=headers,
    )
    assert action.status_code == 201
    done = node.client.patch(
        f"/actions/{action.json()['id']}", json={"status": "done"}, headers=headers
    ).json()
    assert done["status"] == "done"
    contact = node.client.post(
        "/contacts",
        json={"person_id": person["id"], "worker_name": "Sam Reid", "role": "Housing officer"},
        headers=headers,
    )
    assert contact.status_code == 201
    contacts = node.client.get(
        "/contacts", params={"person_id": person["id"]}, headers=headers
    ).json()
    assert [c["worker_name"] for c in contacts["data"]] == ["Sam Reid"]
    actions = node.client.get(
        "/actions", params={"need_id": need["id"], "status": "done"}, headers=headers
    ).json()
    assert actions["count"] == 1


# -- the error contract -------------------------------------------------------


def test_unknown_category_names_the_choices(node: Node) -> None:
    person = new_person(node)
    response = node.client.post(
        "/needs",
        json={"person_id": person["id"], "category": "astrology", "since": "2024-01-01"},
        headers=node.as_role("frontline"),
    )
    assert_problem(response, 422, "unknown category 'astrology'; expected one of")


@pytest.mark.parametrize(
    ("date_of_birth", "message"),
    [
        ("1984-02-30", "day value is outside expected range"),
        ("2999-01-01", "future"),
        ("17/03/1984", "valid date"),
    ],
)
def test_bad_dates_are_422_with_the_field(node: Node, date_of_birth: str, message: str) -> None:
    response = node.client.post(
        "/persons",
        json={**GRACE, "date_of_birth": date_of_birth},
        headers=node.as_role("frontline"),
    )
    body = assert_problem(response, 422)
    assert body["errors"][0]["loc"] == ["body", "date_of_birth"]
    assert message in body["errors"][0]["msg"]
    assert date_of_birth not in response.text  # the offending value is not echoed


@pytest.mark.parametrize(
    "path", ["/persons/424242", "/needs/424242", "/actions/424242", "/contacts/424242"]
)
def test_unknown_ids_are_404(node: Node, path: str) -> None:
    assert_problem(node.client.get(path, headers=node.as_role("frontline")), 404, "not found")


@pytest.mark.parametrize("path", ["/persons/0", "/persons/99999999999999", "/persons/abc"])
def test_impossible_ids_are_422(node: Node, path: str) -> None:
    assert_problem(node.client.get(path, headers=node.as_role("frontline")), 422)


def test_duplicate_local_ref_is_409(node: Node) -> None:
    new_person(node, local_ref="DUP-1")
    response = node.client.post(
        "/persons", json={**GRACE, "local_ref": "DUP-1"}, headers=node.as_role("frontline")
    )
    assert_problem(response, 409, "already in use")


def test_oversize_body_is_413_by_length_and_while_streaming(node: Node) -> None:
    big = b'{"family_name": "' + b"a" * (MAX_BODY + 10) + b'"}'
    headers = {**node.as_role("frontline"), "content-type": "application/json"}
    assert_problem(node.client.post("/persons", content=big, headers=headers), 413, "exceeds")

    def chunks() -> Iterator[bytes]:
        for start in range(0, len(big), 8192):
            yield big[start : start + 8192]

    streamed = node.client.post("/persons", content=chunks(), headers=headers)
    assert_problem(streamed, 413, "exceeds")


@pytest.mark.parametrize(
    "content", [b"{not json", b"[]", b'{"family_name": "A\\u0000", "given_name": "B"}', b""]
)
def test_malformed_bodies_are_422(node: Node, content: bytes) -> None:
    headers = {**node.as_role("frontline"), "content-type": "application/json"}
    assert_problem(node.client.post("/persons", content=content, headers=headers), 422)


def test_nul_in_search_is_422_not_a_database_error(node: Node) -> None:
    response = node.client.get(
        "/persons", params={"q": "a\x00b"}, headers=node.as_role("frontline")
    )
    assert_problem(response, 422)


def test_logs_carry_no_personal_data(node: Node) -> None:
    new_person(node, family_name="Quillfeather", given_name="Ottoline", local_ref="LOG-1")
    node.client.get("/persons", params={"q": "Quillfeather"}, headers=node.as_role("frontline"))
    node.client.post("/auth/token", data={"username": "frontline-user", "password": "wrongpass1"})
    log = node.server.log()
    assert "Quillfeather" not in log
    assert "Ottoline" not in log
    assert "wrongpass1" not in log


def test_openapi_documents_problems_examples_and_bearer_auth(node: Node) -> None:
    schema = node.client.get("/openapi.json").json()
    assert "OAuth2PasswordBearer" in schema["components"]["securitySchemes"]
    for path in ("/persons", "/needs", "/actions", "/contacts"):
        post = schema["paths"][path]["post"]
        assert {"401", "403", "422"} <= set(post["responses"])
        assert "application/problem+json" in post["responses"]["422"]["content"]
        assert post["security"], path
        ref = post["requestBody"]["content"]["application/json"]["schema"]["$ref"]
        component = schema["components"]["schemas"][ref.rsplit("/", 1)[1]]
        assert component["examples"], path

"""Sign-in (audited, braked), sign-out, CSRF and the role matrix of the staff pages."""

from __future__ import annotations

import uuid

import httpx
import pytest
import sqlalchemy as sa
from sqlmodel import Session, select

from appkit.throttle import PER_USERNAME
from node.audit.models import AuditEntry
from node.audit.verify import verify_log
from node.auth.models import Staff
from node.auth.tokens import staff_pseudonym
from tests.fixtures.auth import TEST_PASSWORD, make_staff
from tests.node.web.conftest import WebNode, csrf_from, sign_in

PAGES_BY_ROLE = {
    # path: roles that may open it
    "/ui/persons": {"frontline", "coordinator", "safeguarding_lead"},
    "/ui/persons/{person}": {"frontline", "coordinator", "safeguarding_lead"},
    "/ui/persons/{person}/view": {"frontline", "coordinator", "safeguarding_lead"},
    "/ui/audit": {"auditor"},
    "/ui/account": {"frontline", "coordinator", "safeguarding_lead", "auditor", "admin", "analyst"},
}


def test_login_page_has_labelled_fields_and_landmarks(web_node: WebNode) -> None:
    web_node.client.cookies.clear()
    response = web_node.client.get("/ui/login")
    assert response.status_code == 200
    html = response.text
    assert '<html lang="en-GB">' in html
    assert 'name="viewport"' in html
    assert 'href="#main"' in html
    assert '<main id="main"' in html
    assert '<label for="username">' in html
    assert '<label for="password">' in html
    assert response.headers["cache-control"] == "no-store"
    assert "joinedup_csrf" in response.headers["set-cookie"]


def test_sign_in_sets_an_httponly_strict_cookie(web_node: WebNode) -> None:
    client = web_node.client
    client.cookies.clear()
    token = csrf_from(client.get("/ui/login").text)
    response = client.post(
        "/ui/login",
        data={
            "username": "web-frontline",
            "password": "correct horse battery staple",
            "csrf_token": token,
        },
        follow_redirects=False,
    )
    assert response.status_code == 303
    assert response.headers["location"] == "/ui/persons"
    cookie = next(
        c for c in response.headers.get_list("set-cookie") if c.startswith("joinedup_staff=")
    )
    assert "HttpOnly" in cookie
    assert "SameSite=strict" in cookie
    assert "Path=/ui" in cookie


def test_wrong_password_re_renders_the_form_with_401(web_node: WebNode) -> None:
    client = web_node.client
    client.cookies.clear()
    token = csrf_from(client.get("/ui/login").text)
    response = client.post(
        "/ui/login",
        data={"username": "web-frontline", "password": "wrong password!", "csrf_token": token},
    )
    assert response.status_code == 401
    assert 'data-testid="login-error"' in response.text
    assert 'value="web-frontline"' in response.text
    assert "joinedup_staff" not in client.cookies


@pytest.mark.parametrize(
    "data",
    [
        {},
        {"username": ""},
        {"username": "x" * 5000, "password": ""},
        {"username": "web-frontline"},
    ],
)
def test_incomplete_sign_in_is_422_not_500(web_node: WebNode, data: dict) -> None:
    client = web_node.client
    client.cookies.clear()
    token = csrf_from(client.get("/ui/login").text)
    response = client.post("/ui/login", data={**data, "csrf_token": token})
    assert response.status_code == 422
    assert "Enter your username" in response.text


def test_post_without_csrf_token_is_refused(web_node: WebNode) -> None:
    client = web_node.client
    client.cookies.clear()
    client.get("/ui/login")
    response = client.post(
        "/ui/login",
        data={"username": "web-frontline", "password": "correct horse battery staple"},
    )
    assert response.status_code == 403
    assert "joinedup_staff" not in client.cookies


def test_post_with_mismatched_csrf_token_is_refused(web_node: WebNode) -> None:
    client = web_node.client
    client.cookies.clear()
    client.get("/ui/login")
    response = client.post(
        "/ui/login",
        data={
            "username": "web-frontline",
            "password": "correct horse battery staple",
            "csrf_token": "A" * 43,
        },
    )
    assert response.status_code == 403


def test_cross_origin_post_is_refused_even_with_the_token(web_node: WebNode) -> None:
    client = web_node.client
    client.cookies.clear()
    token = csrf_from(client.get("/ui/login").text)
    response = client.post(
        "/ui/login",
        data={
            "username": "web-frontline",
            "password": "correct horse battery staple",
            "csrf_token": token,
        },
        headers={"Origin": "https://evil.example"},
    )
    assert response.status_code == 403


def test_garbage_body_is_a_4xx_page(web_node: WebNode) -> None:
    client = web_node.client
    client.cookies.clear()
    response = client.post(
        "/ui/login",
        content=b"--x\r\nnonsense",
        headers={"Content-Type": "multipart/form-data; boundary=x"},
    )
    assert 400 <= response.status_code < 500


def test_signed_out_visitor_is_sent_to_sign_in(web_node: WebNode) -> None:
    web_node.client.cookies.clear()
    response = web_node.client.get("/ui/persons?q=grace", follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"].startswith("/ui/login?next=%2Fui%2Fpersons")


def test_forged_session_cookie_is_sent_to_sign_in(web_node: WebNode) -> None:
    client = web_node.client
    client.cookies.clear()
    client.cookies.set("joinedup_staff", "not.a.jwt", path="/ui")
    response = client.get("/ui/persons", follow_redirects=False)
    assert response.status_code == 303


def test_next_parameter_cannot_leave_the_site(web_node: WebNode) -> None:
    client = web_node.client
    client.cookies.clear()
    page = client.get("/ui/login?next=//evil.example/ui/")
    assert "evil.example" not in page.text
    response = client.post(
        "/ui/login",
        data={
            "username": "web-auditor",
            "password": "correct horse battery staple",
            "csrf_token": csrf_from(page.text),
            "next": "https://evil.example/",
        },
        follow_redirects=False,
    )
    assert response.headers["location"] == "/ui/audit"


def test_sign_out_clears_the_session(web_node: WebNode) -> None:
    client = web_node.as_role("frontline")
    token = csrf_from(client.get("/ui/persons").text)
    response = client.post("/ui/logout", data={"csrf_token": token}, follow_redirects=False)
    assert response.status_code == 303
    assert client.get("/ui/persons", follow_redirects=False).status_code == 303


@pytest.mark.parametrize("role", sorted({r for roles in PAGES_BY_ROLE.values() for r in roles}))
def test_each_role_opens_only_its_pages(web_node: WebNode, role: str) -> None:
    client = web_node.as_role(role)
    for template, allowed in PAGES_BY_ROLE.items():
        path = template.format(person=web_node.person_id)
        response = client.get(path, follow_redirects=False)
        expected = 200 if role in allowed else 403
        assert response.status_code == expected, (role, path, response.status_code)
        if expected == 403:
            assert "You do not have access" in response.text


def test_unknown_static_file_is_404(web_node: WebNode) -> None:
    assert web_node.client.get("/ui/static/../../node.db").status_code == 404
    css = web_node.client.get("/ui/static/joinedup.css")
    assert css.status_code == 200
    assert css.headers["content-type"].startswith("text/css")


def test_frontline_cannot_open_audit_pages(web_node: WebNode) -> None:
    sign_in(web_node.client, "web-frontline")
    assert web_node.client.get("/ui/audit").status_code == 403


def post_sign_in(web_node: WebNode, username: str, password: str) -> tuple[httpx.Response, str]:
    """Post the sign-in form under a request id of our own; returns (response, request id)."""
    client = web_node.client
    client.cookies.clear()
    token = csrf_from(client.get("/ui/login").text)
    request_id = f"web-test-{uuid.uuid4().hex}"
    response = client.post(
        "/ui/login",
        data={"username": username, "password": password, "csrf_token": token},
        headers={"X-Request-Id": request_id},
        follow_redirects=False,
    )
    return response, request_id


def audit_entries(web_node: WebNode, request_id: str) -> list[AuditEntry]:
    with Session(web_node.app.state.engine) as session:
        statement = select(AuditEntry).where(AuditEntry.request_id == request_id)
        return list(session.exec(statement).all())


def pseudonym_of(web_node: WebNode, username: str) -> str:
    with Session(web_node.app.state.engine) as session:
        staff = session.exec(select(Staff).where(Staff.username == username)).one()
        assert staff.id is not None
        return staff_pseudonym(staff.id, web_node.app.state.keys)


def test_sign_in_through_the_form_is_audited_as_a_login(web_node: WebNode) -> None:
    response, request_id = post_sign_in(web_node, "web-coordinator", TEST_PASSWORD)
    assert response.status_code == 303
    [entry] = audit_entries(web_node, request_id)
    assert (entry.kind, entry.decision, entry.action) == ("login", "allow", "sign_in")
    assert entry.actor_org == "council-a"
    assert entry.actor_staff == pseudonym_of(web_node, "web-coordinator")
    assert entry.actor_role == "coordinator"
    assert entry.reason == "signed in (staff pages)"


@pytest.mark.parametrize(
    ("username", "password", "reason", "known"),
    [
        ("web-analyst", "wrong password!", "wrong password (staff pages)", True),
        ("nobody-here", TEST_PASSWORD, "unknown account (staff pages)", False),
    ],
)
def test_failed_sign_in_through_the_form_is_audited_and_answers_401(
    web_node: WebNode, username: str, password: str, reason: str, known: bool
) -> None:
    response, request_id = post_sign_in(web_node, username, password)
    assert response.status_code == 401
    assert 'data-testid="login-error"' in response.text
    [entry] = audit_entries(web_node, request_id)
    assert (entry.kind, entry.decision, entry.action) == ("login", "deny", "sign_in")
    assert entry.actor_staff == (pseudonym_of(web_node, username) if known else None)
    assert entry.actor_role is None
    assert entry.reason == reason
    stored = " ".join(str(v) for v in entry.canonical().values())
    assert password not in stored
    assert username not in stored


def test_repeated_failures_lock_the_form_for_that_username(web_node: WebNode) -> None:
    make_staff(web_node.app.state.engine, role="frontline", username="web-locked")
    for _ in range(PER_USERNAME.max_failures):
        response, _rid = post_sign_in(web_node, "web-locked", "a wrong guess")
        assert response.status_code == 401
    response, request_id = post_sign_in(web_node, "web-locked", TEST_PASSWORD)
    assert response.status_code == 429
    assert "Too many failed sign-ins" in response.text
    assert "joinedup_staff" not in web_node.client.cookies
    [entry] = audit_entries(web_node, request_id)
    assert entry.decision == "deny"
    assert entry.reason.startswith("too many failed sign-ins")
    # Other accounts still sign in.
    assert post_sign_in(web_node, "web-auditor", TEST_PASSWORD)[0].status_code == 303


def test_the_log_verifies_after_sign_ins(web_node: WebNode) -> None:
    post_sign_in(web_node, "web-frontline", TEST_PASSWORD)
    post_sign_in(web_node, "web-frontline", "not it at all")
    app = web_node.app
    with app.state.engine.connect() as connection:
        report = verify_log(
            connection=connection,
            verify_keys=[app.state.keys.verify_key],
            org_id=app.state.settings.org_id,
        )
        logins = connection.execute(
            sa.text("SELECT count(*) FROM audit_entry WHERE kind = 'login'")
        ).scalar_one()
    assert report.ok, report.problems
    assert logins >= 2


def test_without_an_identity_provider_there_is_no_provider_sign_in(web_node: WebNode) -> None:
    client = web_node.client
    client.cookies.clear()
    assert "provider-sign-in" not in client.get("/ui/login").text
    for path in ("/ui/login/oidc", "/ui/login/oidc/callback?code=x&state=y"):
        response = client.get(path, follow_redirects=False)
        assert response.status_code == 404, path
        assert response.headers["content-type"].startswith("text/html")

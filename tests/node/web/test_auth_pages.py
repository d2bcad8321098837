"""Sign-in, sign-out, CSRF and the role matrix of the staff pages."""

from __future__ import annotations

import pytest

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

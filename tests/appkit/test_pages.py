"""The page kit (``appkit.pages``) both apps' pages are built on, on a small real app.

A ``PageKit`` over a folder of three templates, mounted on a FastAPI app and driven
through httpx's ASGI transport: what a browser sees when a page raises a domain
error, loses its sign-in or posts a form without its CSRF token, and where a
sign-in may send it afterwards. (No ``from __future__ import annotations`` here:
FastAPI evaluates the routes' annotations, and they name the fixture's kit.)
"""

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Annotated

import httpx
import pytest
from fastapi import APIRouter, Depends, FastAPI, Request
from starlette.datastructures import FormData
from starlette.responses import Response

from appkit.csrf import DoubleSubmitCsrf
from appkit.pages import SECURITY_HEADERS, PageKit
from federation.errors import NotAuthenticated, NotFound, NotPermitted

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def kit(tmp_path: Path) -> PageKit:
    (tmp_path / "base.html").write_text(
        "<main>{% block main %}{% endblock %}</main>", encoding="utf-8"
    )
    (tmp_path / "error.html").write_text(
        '{% extends "base.html" %}{% block main %}<h1>{{ title }}</h1>'
        "<p>{{ message }}</p>{% endblock %}",
        encoding="utf-8",
    )
    (tmp_path / "form.html").write_text(
        '{% include "_errors.html" %}<form><input name="{{ csrf_field }}" '
        'value="{{ csrf_token }}"></form><p>{{ who }}</p>',
        encoding="utf-8",
    )
    return PageKit(
        templates_dir=tmp_path,
        prefix="/pages",
        session_cookie="kit_session",
        csrf=DoubleSubmitCsrf(cookie="kit_csrf"),
        page_context=lambda _request: {"who": "Ada"},
        titles={403: "Not for you"},
    )


@pytest.fixture
async def client(kit: PageKit) -> AsyncIterator[httpx.AsyncClient]:
    router = APIRouter(prefix="/pages", route_class=kit.route_class)

    @router.get("/form")
    def show_form(request: Request) -> Response:
        return kit.render(request, "form.html", {"errors": {"name": "Enter a name."}})

    @router.post("/form")
    def send_form(form: Annotated[FormData, Depends(kit.csrf_form)]) -> Response:
        return Response("sent")

    @router.get("/missing")
    def show_missing() -> Response:
        raise NotFound("We could not find that.")

    @router.get("/private")
    def show_private() -> Response:
        raise NotPermitted("Only for others.")

    @router.api_route("/signed-in", methods=["GET", "POST"])
    def show_signed_in() -> Response:
        raise NotAuthenticated("sign in again")

    @router.get("/number/{n}")
    def show_number(n: int) -> Response:
        return Response(str(n))

    app = FastAPI()
    app.include_router(router)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
        yield http


async def test_a_page_has_the_shared_context_partials_and_no_store(
    client: httpx.AsyncClient,
) -> None:
    page = await client.get("/pages/form")
    assert page.status_code == 200
    assert "<p>Ada</p>" in page.text  # the app's page context
    assert "Enter a name." in page.text  # appkit/templates/_errors.html
    for name, value in SECURITY_HEADERS.items():
        assert page.headers[name] == value
    assert "kit_csrf=" in page.headers["set-cookie"]


async def test_domain_errors_become_pages_in_plain_words(client: httpx.AsyncClient) -> None:
    missing = await client.get("/pages/missing")
    assert missing.status_code == 404
    assert missing.headers["content-type"].startswith("text/html")
    assert "<h1>Not found</h1>" in missing.text
    assert "We could not find that." in missing.text
    private = await client.get("/pages/private")
    assert private.status_code == 403
    assert "<h1>Not for you</h1>" in private.text  # the app's own wording
    unreadable = await client.get("/pages/number/seven")
    assert unreadable.status_code == 422
    assert "Check the address or the form" in unreadable.text


async def test_a_lost_sign_in_returns_to_the_page_or_after_a_form_to_the_start(
    client: httpx.AsyncClient,
) -> None:
    page = await client.get("/pages/signed-in?tab=2")
    assert page.status_code == 303
    assert page.headers["location"] == "/pages/login?next=%2Fpages%2Fsigned-in%3Ftab%3D2"
    assert 'kit_session=""' in page.headers["set-cookie"]
    posted = await client.post("/pages/signed-in")
    assert posted.headers["location"] == "/pages/login?next=%2Fpages%2F"


async def test_a_form_without_its_csrf_token_is_refused(client: httpx.AsyncClient) -> None:
    token = (await client.get("/pages/form")).text.split('value="')[1].split('"')[0]
    refused = await client.post("/pages/form", data={"csrf_token": "forged-" + token})
    assert refused.status_code == 403
    assert "did not come from this site" in refused.text
    sent = await client.post("/pages/form", data={"csrf_token": token})
    assert sent.status_code == 200
    assert sent.text == "sent"


@pytest.mark.parametrize(
    ("target", "kept"),
    [
        ("/pages/persons?q=1", "/pages/persons?q=1"),
        ("https://evil.example/pages/", "/pages/"),
        ("//evil.example/pages/", "/pages/"),
        ("/pages//evil.example", "/pages/"),
        ("/pages/\\evil", "/pages/"),
        ("/other/", "/pages/"),
        ("/pages/" + "x" * 600, "/pages/"),
        (None, "/pages/"),
    ],
)
def test_safe_next_keeps_only_paths_inside_the_pages(
    kit: PageKit, target: object, kept: str
) -> None:
    assert kit.safe_next(target) == kept

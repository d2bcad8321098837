"""Fixtures for the staff pages: one in-process node per module, staff of each role.

The app is the real ``create_app`` (lifespan, migrations, keys) driven in-process
through ``httpx.ASGITransport`` from a blocking portal (Starlette's TestClient warns
about httpx, and warnings are errors here); staff accounts are made once per module because argon2id
hashing is deliberately slow. ``sign_in`` goes through the real sign-in form,
CSRF token included, exactly as a browser would.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from anyio.from_thread import BlockingPortal, start_blocking_portal
from fastapi import FastAPI
from sqlmodel import Session

from node.config import NodeSettings
from node.links.models import SubjectLink
from node.main import create_app
from node.records import service as records
from node.web.router import router as web_router
from tests.fixtures.auth import TEST_PASSWORD, make_staff

CSRF_INPUT = re.compile(r'name="csrf_token" value="([^"]+)"')
ROLES = ("frontline", "coordinator", "safeguarding_lead", "auditor", "admin", "analyst")


class TestClient:
    """A blocking cookie-keeping client for an ASGI app whose lifespan is running."""

    def __init__(self, app: FastAPI, portal: BlockingPortal) -> None:
        self.app = app
        self.portal = portal
        self._client = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://testserver"
        )

    @property
    def cookies(self) -> httpx.Cookies:
        return self._client.cookies

    def request(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        response: httpx.Response = self.portal.call(
            lambda: self._client.request(method, url, **kwargs)
        )
        return response

    def get(self, url: str, **kwargs: Any) -> httpx.Response:
        return self.request("GET", url, **kwargs)

    def post(self, url: str, **kwargs: Any) -> httpx.Response:
        return self.request("POST", url, **kwargs)


@contextlib.contextmanager
def in_process(app: FastAPI) -> Iterator[TestClient]:
    with (
        start_blocking_portal() as portal,
        portal.wrap_async_context_manager(app.router.lifespan_context(app)),
    ):
        client = TestClient(app, portal)
        try:
            yield client
        finally:
            portal.call(client._client.aclose)


def web_app(settings: NodeSettings) -> FastAPI:
    """The node app with the staff pages (added here only if node/api.py lacks them)."""
    app = create_app(settings)
    if not any(getattr(route, "path", "") == "/ui/login" for route in app.routes):
        app.include_router(web_router)
    return app


def csrf_from(html: str) -> str:
    match = CSRF_INPUT.search(html)
    assert match, "page has no CSRF field"
    return match.group(1)


def sign_in(client: TestClient, username: str, password: str = TEST_PASSWORD) -> None:
    """Sign in through the form, as a browser would (fresh cookies first)."""
    client.cookies.clear()
    page = client.get("/ui/login")
    response = client.post(
        "/ui/login",
        data={"username": username, "password": password, "csrf_token": csrf_from(page.text)},
        follow_redirects=False,
    )
    assert response.status_code == 303, response.text


@dataclass
class WebNode:
    client: TestClient
    app: FastAPI
    person_id: int
    unlinked_person_id: int

    def as_role(self, role: str) -> TestClient:
        sign_in(self.client, f"web-{role}")
        return self.client

    def csrf(self, path: str) -> str:
        return csrf_from(self.client.get(path).text)


@pytest.fixture(scope="module")
def web_node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[WebNode]:
    data_dir = tmp_path_factory.mktemp("web-node")
    settings = NodeSettings(
        org_id="council-a", org_name="Council A", data_dir=data_dir, log_json=False
    )
    app = web_app(settings)
    with in_process(app) as client:
        engine = app.state.engine
        for role in ROLES:
            make_staff(engine, role=role, username=f"web-{role}")
        with Session(engine) as session:
            grace = records.create_person(
                session=session,
                data={
                    "family_name": "Okafor",
                    "given_name": "Grace",
                    "date_of_birth": dt.date(1984, 3, 17),
                    "postcode": "LS6 2AB",
                },
                linkage_key=None,
            )
            other = records.create_person(
                session=session,
                data={
                    "family_name": "Okonkwo",
                    "given_name": "Sam",
                    "date_of_birth": dt.date(1990, 1, 2),
                },
                linkage_key=None,
            )
            assert grace.id is not None
            assert other.id is not None
            records.create_need(
                session=session,
                data={
                    "person_id": grace.id,
                    "category": "housing",
                    "description": "Rent arrears after job loss",
                    "severity": "high",
                    "since": dt.date(2026, 9, 1),
                },
                vocabulary=app.state.vocabulary,
                recorded_by="test",
            )
            session.add(SubjectLink(subject_id="subj_grace", person_id=grace.id))
            session.commit()
            grace_id, other_id = grace.id, other.id
        yield WebNode(client, app, grace_id, other_id)

"""An in-process consent service over a signed registry, and helpers to call it.

The federation: an authority, three organisations (council, gp, police) and the
consent service, whose keys are written into the service's data dir so the
registry lists the key it actually signs with. Revocation pushes go to an
``httpx.MockTransport`` that records them (``pushes``); end-to-end tests in
``test_e2e.py`` use real processes instead.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from anyio.from_thread import BlockingPortal, start_blocking_portal
from fastapi import FastAPI

from consent.config import ConsentSettings
from consent.main import create_app
from federation.envelope import sign_request
from federation.keys import MemberKeys, b64encode
from federation.linkage import LinkageKey, linkage_tokens
from federation.registry import Member, new_document, sign_registry
from federation.wire import WireMessage
from tests.fixtures.wire import as_message

ORGS = {"council": "council", "gp": "gp", "police": "police"}
LINKAGE_KEY = LinkageKey(1, b"test-linkage-key-0123456789")


class InProcessClient:
    """A blocking client for an ASGI app, with its lifespan run (a small TestClient).

    Starlette's TestClient warns about httpx (and warnings are errors here), so this
    drives ``httpx.ASGITransport`` from a blocking portal instead.
    """

    def __init__(self, app: FastAPI, portal: BlockingPortal) -> None:
        self.app = app
        self.portal = portal
        self._client = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://consent.test"
        )

    def request(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        response: httpx.Response = self.portal.call(
            lambda: self._client.request(method, url, **kwargs)
        )
        return response

    def get(self, url: str, **kwargs: Any) -> httpx.Response:
        return self.request("GET", url, **kwargs)

    def post(self, url: str, **kwargs: Any) -> httpx.Response:
        return self.request("POST", url, **kwargs)

    def patch(self, url: str, **kwargs: Any) -> httpx.Response:
        return self.request("PATCH", url, **kwargs)


@contextlib.contextmanager
def in_process(app: FastAPI) -> Iterator[InProcessClient]:
    with (
        start_blocking_portal() as portal,
        portal.wrap_async_context_manager(app.router.lifespan_context(app)),
    ):
        client = InProcessClient(app, portal)
        try:
            yield client
        finally:
            portal.call(client._client.aclose)


@dataclass
class ConsentWorld:
    client: InProcessClient
    keys: dict[str, MemberKeys]
    authority: MemberKeys
    data_dir: Path
    pushes: list[dict[str, Any]] = field(default_factory=list)  # revocations and amendments
    grants: list[dict[str, Any]] = field(default_factory=list)  # "consent granted" notices

    def signed(
        self, path: str, message: WireMessage | str, body: Any = None, issuer: str = "council"
    ) -> httpx.Response:
        """POST a request signed as ``issuer``: a wire message, or an action and its body."""
        token = sign_request(
            as_message(message, body), keys=self.keys[issuer], issuer=issuer, audience="consent"
        )
        return self.client.post(path, json={"request": token})

    def enrol(self, family: str = "Smith", issuer: str = "council", **kw: Any) -> str:
        import datetime as dt

        tokens = linkage_tokens(
            key=LINKAGE_KEY,
            family_name=family,
            given_name=kw.get("given", "Ann"),
            date_of_birth=kw.get("dob", dt.date(1980, 1, 2)),
            postcode=kw.get("postcode", "AB1 2CD"),
            national_number=kw.get("nn"),
        )
        response = self.signed("/federation/enrol", "enrol", {"linkage_tokens": tokens}, issuer)
        assert response.status_code == 200, response.text
        return str(response.json()["subject_id"])

    def customer(self, subject_id: str, username: str, password: str = "correct horse 1") -> str:
        """Create and activate an account through the API; returns a bearer token."""
        made = self.signed(
            "/federation/customers",
            "create_customer",
            {"subject_id": subject_id, "username": username},
        )
        assert made.status_code == 201, made.text
        code = made.json()["activation_code"]
        activated = self.client.post(
            "/customer/activate", json={"activation_code": code, "password": password}
        )
        assert activated.status_code == 200, activated.text
        return self.login(username, password)

    def login(self, username: str, password: str = "correct horse 1") -> str:
        response = self.client.post(
            "/customer/login", json={"username": username, "password": password}
        )
        assert response.status_code == 200, response.text
        return str(response.json()["access_token"])

    def token(self, subject_id: str, purpose: str = "care_coordination", issuer: str = "council"):
        response = self.signed(
            "/federation/consent-token",
            "consent_token",
            {"subject_id": subject_id, "purpose": purpose},
            issuer,
        )
        assert response.status_code == 200, response.text
        return response.json()["token"]


def provision(**overrides: Any) -> dict[str, Any]:
    fields: dict[str, Any] = {
        "purposes": ["care_coordination"],
        "recipients": ["council"],
        "categories": ["housing"],
        "actions": ["read"],
    }
    fields.update(overrides)
    return fields


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def write_registry(
    path: Path, authority: MemberKeys, keys: dict[str, MemberKeys], urls: dict[str, str]
) -> None:
    members = [
        Member(
            org_id=org,
            name=org.title(),
            kind="consent_service" if org == "consent" else ORGS[org],  # type: ignore[arg-type]
            base_url=urls[org],
            verify_keys=[keys[org].verify_key_b64],
            encryption_key=keys[org].public_key_b64,
        )
        for org in keys
    ]
    signed = sign_registry(new_document("test", 1, members), authority.signing_key)
    path.write_text(json.dumps(signed))


def make_federation(
    data_dir: Path, urls: dict[str, str]
) -> tuple[MemberKeys, dict[str, MemberKeys]]:
    """Keys for everyone (the consent service's saved in its data dir) and a registry file."""
    authority = MemberKeys.generate()
    keys = {org: MemberKeys.generate() for org in ORGS}
    keys["consent"] = MemberKeys.load_or_create(data_dir)
    write_registry(data_dir / "registry.json", authority, keys, urls)
    return authority, keys


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Any:
    """One consent service per test module (tests use distinct people and usernames)."""
    data_dir = tmp_path_factory.mktemp("consent")
    urls = {org: f"http://{org}.test" for org in [*ORGS, "consent"]}
    authority, keys = make_federation(data_dir, urls)
    settings = ConsentSettings(
        data_dir=data_dir,
        registry_path=data_dir / "registry.json",
        authority_verify_key=b64encode(bytes(authority.verify_key)),
    )
    pushes: list[dict[str, Any]] = []
    grants: list[dict[str, Any]] = []

    def record(request: httpx.Request) -> httpx.Response:
        url = str(request.url)
        sent = grants if url.endswith("/federation/consent-grants") else pushes
        sent.append({"url": url, **json.loads(request.content)})
        return httpx.Response(200, json={"status": "recorded"})

    app = create_app(settings)
    with in_process(app) as client:
        real_http = app.state.http
        app.state.http = httpx.AsyncClient(transport=httpx.MockTransport(record))
        try:
            yield ConsentWorld(client, keys, authority, data_dir, pushes, grants)
        finally:
            client.portal.call(app.state.http.aclose)
            app.state.http = real_http


@pytest.fixture(autouse=True)
def _fresh_pushes(request: pytest.FixtureRequest) -> None:
    if "world" in request.fixturenames:
        world = request.getfixturevalue("world")
        world.pushes.clear()
        world.grants.clear()

"""The guide's HTTP surface on an in-process node with a real registry.

Staff API: only admins change the catalogue; every change publishes the next
version; bad input is a 4xx problem. Partner endpoints: the catalogue is served to
members only (a signed ``guide_fetch`` as bearer), with an ETag and 304 on a
conditional GET; ``guide_announce`` is accepted from members.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from federation.catalogue import verify_catalogue
from federation.envelope import sign_request
from federation.keys import MemberKeys
from federation.registry import Registry, new_document, sign_registry, verify_registry
from federation.wire.guide import GuideFetch
from node.config import NodeSettings
from tests.federation.conftest import member_for
from tests.fixtures.auth import TEST_PASSWORD, make_staff
from tests.fixtures.wire import unchecked
from tests.node.web import conftest as web
from tests.node.web.conftest import in_process, web_app

ME = "council-a"
PARTNER = "gp"
SERVICE = {
    "id": "debt-advice",
    "name": "Debt advice",
    "description": "Help with rent arrears and bills.",
    "categories": ["income", "housing"],
    "eligibility": {"min_age": 18, "postcode_districts": ["LS6"]},
    "contact": {"phone": "0113 496 0001"},
    "capacity": "open",
}


@dataclass
class GuideNode:
    client: web.TestClient
    registry: Registry
    partner: MemberKeys
    tokens: dict[str, str]

    def staff(self, role: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[role]}"}

    def fetch_token(self, *, issuer: str = PARTNER, keys: MemberKeys | None = None) -> str:
        return sign_request(GuideFetch(), keys=keys or self.partner, issuer=issuer, audience=ME)


@pytest.fixture(scope="module")
def node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[GuideNode]:
    data_dir: Path = tmp_path_factory.mktemp("guide-node")
    mine = MemberKeys.load_or_create(data_dir)
    partner = MemberKeys.generate()
    authority = MemberKeys.generate()
    members = [member_for(ME, "council", mine), member_for(PARTNER, "gp", partner)]
    signed = sign_registry(new_document("test", 1, members), authority.signing_key)
    registry_path = data_dir / "registry.json"
    registry_path.write_text(json.dumps(signed))
    settings = NodeSettings(
        org_id=ME,
        org_name="Council A",
        data_dir=data_dir,
        log_json=False,
        registry_path=registry_path,
        authority_verify_key=authority.verify_key_b64,
        guide_refresh=False,
        outbox_worker=False,
    )
    app = web_app(settings)
    with in_process(app) as client:
        tokens = {}
        for role in ("admin", "frontline"):
            _, username = make_staff(app.state.engine, role=role, username=f"guide-{role}")
            answer = client.post(
                "/auth/token", data={"username": username, "password": TEST_PASSWORD}
            )
            tokens[role] = answer.json()["access_token"]
        yield GuideNode(client, verify_registry(signed, authority.verify_key), partner, tokens)


def _version(node: GuideNode) -> int:
    return int(
        node.client.get("/guide/catalogue", headers=node.staff("frontline")).json()["version"]
    )


def test_only_admins_change_the_catalogue_and_each_change_is_a_new_version(
    node: GuideNode,
) -> None:
    client = node.client
    start = _version(node)
    assert start >= 1  # published (empty) at start-up
    refused = client.post("/guide/services", json=SERVICE, headers=node.staff("frontline"))
    assert refused.status_code == 403
    created = client.post("/guide/services", json=SERVICE, headers=node.staff("admin"))
    assert created.status_code == 201, created.text
    assert _version(node) == start + 1
    again = client.post("/guide/services", json=SERVICE, headers=node.staff("admin"))
    assert again.status_code == 409
    assert again.headers["content-type"].startswith("application/problem+json")
    changed = client.request(
        "PATCH",
        "/guide/services/debt-advice",
        json={"capacity": "waiting_list", "typical_wait_days": 7},
        headers=node.staff("admin"),
    )
    assert changed.status_code == 200
    assert changed.json()["capacity"] == "waiting_list"
    assert changed.json()["contact"]["phone"] == "0113 496 0001"  # untouched fields stay
    assert _version(node) == start + 2
    listed = client.get("/guide/services", headers=node.staff("admin")).json()
    assert [s["id"] for s in listed["data"]] == ["debt-advice"]


@pytest.mark.parametrize(
    ("method", "path", "body", "status"),
    [
        ("POST", "/guide/services", {**SERVICE, "id": "x", "categories": ["astrology"]}, 422),
        ("POST", "/guide/services", {**SERVICE, "id": "y", "categories": []}, 422),
        ("POST", "/guide/services", {**SERVICE, "id": "z", "colour": "red"}, 422),
        ("POST", "/guide/services", {**SERVICE, "id": "bad id!"}, 422),
        ("PATCH", "/guide/services/nope", {"capacity": "open"}, 404),
        ("PATCH", "/guide/services/debt-advice", {"capacity": "full"}, 422),
        (
            "PATCH",
            "/guide/services/debt-advice",
            {"eligibility": {"min_age": 9, "max_age": 8}},
            422,
        ),
        ("DELETE", "/guide/services/nope", None, 404),
        ("GET", "/guide/search?age=-1", None, 422),
        ("GET", "/guide/search?postcode=" + "x" * 11, None, 422),
    ],
)
def test_bad_input_is_a_problem_not_a_crash(
    node: GuideNode, method: str, path: str, body: object, status: int
) -> None:
    response = node.client.request(method, path, json=body, headers=node.staff("admin"))
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")


def test_staff_search_their_own_guide(node: GuideNode) -> None:
    node.client.post(
        "/guide/services", json={**SERVICE, "id": "s-search"}, headers=node.staff("admin")
    )
    found = node.client.get(
        "/guide/search",
        params={"q": "arrears", "age": 18, "postcode": "LS6 1AA"},
        headers=node.staff("frontline"),
    ).json()
    assert "s-search" in {hit["service"]["id"] for hit in found["data"]}
    # Our own services are not offered as referrals to ourselves.
    assert all(hit["referral_url"] is None for hit in found["data"])
    too_young = node.client.get(
        "/guide/search", params={"q": "arrears", "age": 17}, headers=node.staff("frontline")
    ).json()
    assert too_young["count"] == 0


def test_members_fetch_the_signed_catalogue_conditionally(node: GuideNode) -> None:
    client = node.client
    first = client.get(
        "/federation/guide/catalogue", headers={"Authorization": f"Bearer {node.fetch_token()}"}
    )
    assert first.status_code == 200
    etag = first.headers["etag"]
    document = verify_catalogue(first.json(), registry=node.registry, publisher=ME)
    assert etag.startswith(f'"v{document.version}-')
    unchanged = client.get(
        "/federation/guide/catalogue",
        headers={"Authorization": f"Bearer {node.fetch_token()}", "If-None-Match": etag},
    )
    assert unchanged.status_code == 304
    assert unchanged.content == b""
    client.request(
        "PATCH",
        "/guide/services/debt-advice",
        json={"capacity": "closed"},
        headers=node.staff("admin"),
    )
    changed = client.get(
        "/federation/guide/catalogue",
        headers={"Authorization": f"Bearer {node.fetch_token()}", "If-None-Match": etag},
    )
    assert changed.status_code == 200
    assert changed.headers["etag"] != etag


@pytest.mark.parametrize("who", ["nobody", "garbage", "stranger", "forged", "other-action"])
def test_the_catalogue_is_served_to_members_only(node: GuideNode, who: str) -> None:
    stranger = MemberKeys.generate()
    tokens = {
        "nobody": None,
        "garbage": "not.a.token",
        "stranger": node.fetch_token(issuer="stranger", keys=stranger),
        "forged": node.fetch_token(keys=stranger),  # claims to be the GP
        "other-action": sign_request(
            unchecked("share", {}), keys=node.partner, issuer=PARTNER, audience=ME
        ),
    }
    headers = {} if tokens[who] is None else {"Authorization": f"Bearer {tokens[who]}"}
    response = node.client.get("/federation/guide/catalogue", headers=headers)
    assert 400 <= response.status_code < 500, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert "catalogue" not in response.text or "signature" not in response.json()


def test_a_members_announcement_is_accepted_and_a_malformed_one_refused(node: GuideNode) -> None:
    def announce(body: dict[str, object]) -> httpx.Response:
        token = sign_request(
            unchecked("guide_announce", body), keys=node.partner, issuer=PARTNER, audience=ME
        )
        return node.client.post("/federation/guide/announce", json={"request": token})

    assert announce({"version": 4}).status_code == 202
    refused = announce({"version": "four"})
    assert refused.status_code == 422
    assert refused.headers["content-type"].startswith("application/problem+json")

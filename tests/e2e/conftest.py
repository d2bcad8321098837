"""Whole-federation fixtures: five real nodes and the consent service, driven over HTTP.

``e2e`` (module scope: servers start once per test module) yields a ``Driver`` that
does what people do, through the public APIs only: staff sign in and record persons,
needs, actions and contacts through each node's records API; a person is enrolled at
one node (``POST /persons/{id}/enrol``, which links the partners' records by linkage
token); the customer opens a portal account and grants or revokes consent through the
consent service's customer API; staff ask for a joined-up view with ``POST /views``.
It can also stop, pause and restart a member, and publish a new signed registry.

Every node records its outgoing request bodies (``JOINEDUP_NODE_TRAFFIC_LOG``) so a
test can prove no raw identifier ever travels between nodes.
"""

from __future__ import annotations

import json
import os
import signal
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import httpx
import pytest

from federation.registry import CONSENT_SERVICE_ID, Member, new_document, sign_registry
from joinedup.localfed import CONSENT_FACTORY, NODE_FACTORY
from tests.fixtures.federation import RunningFederation, start_federation
from tests.fixtures.servers import ServerSpec, launch, wait_ready

# (org_id, kind, display name); the council is the requesting member in these stories.
ORGS = [
    ("council", "council", "Riverside Council"),
    ("gp", "gp", "Riverside GP"),
    ("police", "police", "Riverside Police"),
    ("school", "school", "Riverside High"),
    ("housing", "housing_association", "Riverside Homes"),
]
REQUESTER = "council"
CUSTOMER_PASSWORD = "a long customer passphrase"


@dataclass(frozen=True)
class Person:
    """Raw identifiers as a receptionist types them: they must never leave a node."""

    family_name: str
    given_name: str
    date_of_birth: date
    postcode: str
    national_number: str

    def record(self) -> dict[str, Any]:
        return {
            "family_name": self.family_name,
            "given_name": self.given_name,
            "date_of_birth": self.date_of_birth.isoformat(),
            "postcode": self.postcode,
            "national_number": self.national_number,
        }


@dataclass
class Driver:
    """Drives a running federation through its public HTTP APIs."""

    fed: RunningFederation
    client: httpx.Client
    _tokens: dict[tuple[str, str], str] = field(default_factory=dict)

    def url(self, org_id: str) -> str:
        return self.fed.url(org_id)

    # -- staff --------------------------------------------------------------------

    def staff(self, org_id: str, role: str) -> str:
        """A bearer token for a staff member of ``org_id`` holding ``role``."""
        if (org_id, role) not in self._tokens:
            self._tokens[org_id, role] = self.fed.staff_token(org_id, f"{role}-{org_id}", role)
        return self._tokens[org_id, role]

    def api(self, org_id: str, method: str, path: str, *, role: str, **kwargs: Any) -> Any:
        token = self.staff(org_id, role)
        response = self.client.request(
            method,
            f"{self.url(org_id)}{path}",
            headers={"Authorization": f"Bearer {token}"},
            **kwargs,
        )
        assert response.status_code < 300, (method, path, response.status_code, response.text)
        return response.json()

    # -- records ------------------------------------------------------------------

    def add_person(self, org_id: str, person: Person) -> int:
        return int(
            self.api(org_id, "POST", "/persons", role="frontline", json=person.record())["id"]
        )

    def add_need(
        self, org_id: str, person_id: int, category: str, *, severity: str = "medium"
    ) -> int:
        body = {
            "person_id": person_id,
            "category": category,
            "description": f"{category.replace('_', ' ')} need recorded at {org_id}",
            "severity": severity,
            "status": "open",
            "since": "2026-10-01",
        }
        return int(self.api(org_id, "POST", "/needs", role="frontline", json=body)["id"])

    def add_action(self, org_id: str, person_id: int, need_id: int, what: str) -> int:
        body = {
            "person_id": person_id,
            "need_id": need_id,
            "what": what,
            "owner": f"{org_id} team",
            "status": "active",
            "due": "2026-12-01",
        }
        return int(self.api(org_id, "POST", "/actions", role="frontline", json=body)["id"])

    def add_contact(self, org_id: str, person_id: int, worker_name: str, role: str) -> int:
        body = {
            "person_id": person_id,
            "worker_name": worker_name,
            "role": role,
            "how_to_reach": "0113 496 0000",
        }
        return int(self.api(org_id, "POST", "/contacts", role="frontline", json=body)["id"])

    def enrol(self, org_id: str, person_id: int) -> dict[str, Any]:
        """Enrol at ``org_id``: a subject_id from the consent service, partners linked."""
        result: dict[str, Any] = self.api(
            org_id, "POST", f"/persons/{person_id}/enrol", role="coordinator"
        )
        return result

    # -- the customer, at the consent service -------------------------------------

    def customer(self, via: str, subject_id: str, username: str) -> str:
        """Open, activate and sign in to a portal account; the customer's bearer token."""
        signed = self.fed.sign(
            via,
            CONSENT_SERVICE_ID,
            "create_customer",
            {"subject_id": subject_id, "username": username},
        )
        consent = self.url(CONSENT_SERVICE_ID)
        opened = self.client.post(f"{consent}/federation/customers", json={"request": signed})
        assert opened.status_code == 201, opened.text
        activated = self.client.post(
            f"{consent}/customer/activate",
            json={
                "activation_code": opened.json()["activation_code"],
                "password": CUSTOMER_PASSWORD,
            },
        )
        assert activated.status_code == 200, activated.text
        login = self.client.post(
            f"{consent}/customer/login", json={"username": username, "password": CUSTOMER_PASSWORD}
        )
        assert login.status_code == 200, login.text
        return str(login.json()["access_token"])

    def grant(self, customer_token: str, *, recipients: list[str], categories: list[str]) -> str:
        provision = {
            "purposes": ["care_coordination"],
            "recipients": recipients,
            "categories": categories,
            "actions": ["read"],
        }
        response = self.client.post(
            f"{self.url(CONSENT_SERVICE_ID)}/me/consents",
            json={"grantor_kind": "customer", "provisions": [provision]},
            headers={"Authorization": f"Bearer {customer_token}"},
        )
        assert response.status_code == 201, response.text
        return str(response.json()["id"])

    def revoke(self, customer_token: str, consent_id: str) -> None:
        response = self.client.post(
            f"{self.url(CONSENT_SERVICE_ID)}/me/consents/{consent_id}/revoke",
            headers={"Authorization": f"Bearer {customer_token}"},
        )
        assert response.status_code == 200, response.text

    # -- views --------------------------------------------------------------------

    def view(
        self, subject_id: str, *, role: str = "coordinator", org_id: str = REQUESTER, **body: Any
    ) -> httpx.Response:
        body = {"subject_id": subject_id, "purpose": "care_coordination", **body}
        return self.client.post(
            f"{self.url(org_id)}/views",
            json=body,
            headers={"Authorization": f"Bearer {self.staff(org_id, role)}"},
        )

    # -- operating the processes ----------------------------------------------------

    def stop(self, org_id: str) -> None:
        self.fed.servers[org_id].stop()

    def restart(self, org_id: str) -> None:
        """Start a stopped member again on the same port with the same settings."""
        old = self.fed.servers[org_id]
        factory = CONSENT_FACTORY if org_id == CONSENT_SERVICE_ID else NODE_FACTORY
        server = launch(ServerSpec(org_id, factory, old.env, old.port), self.fed.root / "logs")
        self.fed.servers[org_id] = server
        wait_ready(server)
        self._tokens = {k: v for k, v in self._tokens.items() if k[0] != org_id}

    def pause(self, org_id: str) -> None:
        """Freeze a member (SIGSTOP): it accepts connections but never answers."""
        os.kill(self.fed.servers[org_id].process.pid, signal.SIGSTOP)

    def resume(self, org_id: str) -> None:
        os.kill(self.fed.servers[org_id].process.pid, signal.SIGCONT)

    def publish_registry(self, change: Callable[[list[Member]], list[Member]]) -> int:
        """Sign and install the next registry version with ``change`` applied to members."""
        path: Path = self.fed.registry_path
        current = json.loads(path.read_text())["registry"]
        members = [Member.model_validate(m) for m in current["members"]]
        version = int(current["version"]) + 1
        document = new_document(current["federation"], version, change(members))
        signed = sign_registry(document, self.fed.authority_key)
        tmp = path.with_suffix(".next")
        tmp.write_text(json.dumps(signed, indent=2))
        tmp.replace(path)  # atomic: a node never reads half a registry
        return version


def wait_for(check: Callable[[], Any], *, timeout: float = 15.0, interval: float = 0.2) -> Any:
    """Poll ``check`` until it returns something truthy; fail with its last value."""
    deadline = time.monotonic() + timeout
    value = check()
    while not value and time.monotonic() < deadline:
        time.sleep(interval)
        value = check()
    assert value, "condition not reached in time"
    return value


@pytest.fixture(scope="module")
def e2e(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Driver]:
    root = tmp_path_factory.mktemp("federation")
    with (
        start_federation(root, ORGS, consent=True, traffic_log=True) as fed,
        httpx.Client(timeout=30) as client,
    ):
        yield Driver(fed, client)

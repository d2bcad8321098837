"""The consent service's part of the seed: customer accounts and initial consents.

Customers get their portal account the way docs/protocol.md describes: the
enrolling node sends a signed ``create_customer`` request (``POST
/federation/customers``) and receives a one-time activation code; the customer
sets a password with it (``POST /customer/activate``), signs in
(``POST /customer/login``) and grants consent themself (``POST /me/consents``).
The seed plays the enrolling node with that node's own keys, which the launcher
holds because it created them, and then plays the customer.
"""

from __future__ import annotations

import httpx

from federation.envelope import sign_request
from federation.registry import CONSENT_SERVICE_ID
from federation.wire.customer import CustomerCreate
from joinedup.demo.exceptions import checked_json as _check
from joinedup.demo.scenario import Scenario
from joinedup.localfed import LocalFederation


def request_activation_code(
    client: httpx.Client,
    federation: LocalFederation,
    *,
    via: str,
    subject_id: str,
    username: str,
) -> str:
    """Ask the consent service, as node ``via``, to open an account; the one-time code."""
    signed = sign_request(
        CustomerCreate(subject_id=subject_id, username=username),
        keys=federation.keys[via],
        issuer=via,
        audience=CONSENT_SERVICE_ID,
    )
    body = _check(
        client.post(
            f"{federation.consent.base_url}/federation/customers", json={"request": signed}
        ),
        f"{via}: open a portal account for {username}",
    )
    return str(body["activation_code"])


def customer_token(client: httpx.Client, base_url: str, username: str, password: str) -> str:
    """A customer bearer token from ``POST /customer/login``."""
    body = _check(
        client.post(
            f"{base_url}/customer/login", json={"username": username, "password": password}
        ),
        f"customer {username}: sign in",
    )
    return str(body["access_token"])


def seed_consent_service(
    client: httpx.Client,
    federation: LocalFederation,
    scenario: Scenario,
    *,
    subjects: dict[str, str],
) -> dict[str, list[str]]:
    """Open, activate and sign in every scenario customer; grant their consents."""
    base_url = federation.consent.base_url
    via = {e.person: e.via for e in scenario.enrolments}
    consent_ids: dict[str, list[str]] = {}
    for customer in scenario.customers:
        code = request_activation_code(
            client,
            federation,
            via=via[customer.person],
            subject_id=subjects[customer.person],
            username=customer.username,
        )
        _check(
            client.post(
                f"{base_url}/customer/activate",
                json={"activation_code": code, "password": scenario.password},
            ),
            f"customer {customer.username}: activate",
        )
        token = customer_token(client, base_url, customer.username, scenario.password)
        ids: list[str] = []
        for consent in (c for c in scenario.consents if c.person == customer.person):
            body = _check(
                client.post(
                    f"{base_url}/me/consents",
                    json={
                        "grantor_kind": "customer",
                        "provisions": [p.model_dump() for p in consent.provisions],
                    },
                    headers={"Authorization": f"Bearer {token}"},
                ),
                f"customer {customer.username}: grant consent",
            )
            ids.append(str(body["id"]))
        consent_ids[customer.person] = ids
    return consent_ids

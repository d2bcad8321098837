"""Turn ``scenario.yaml`` into records, enrolments, customer accounts and consents.

The seed goes through the same doors a real organisation would: staff accounts are
created with the node's ``create_staff`` service (there is no admin to ask yet);
persons, needs, actions and contacts are posted to each
node's records API with a staff bearer token; customers are enrolled through the
council's ``POST /persons/{id}/enrol`` (which asks the consent service for a
``subject_id`` and links the other nodes' records by linkage tokens); consent is
recorded at the consent service; referrals are made and worked through the staff
referral API (``referral_seed``). What was created is written to ``seed.json`` in
the data directory, and its presence is what makes a second run reuse the data
instead of seeding again.
"""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path
from typing import Any

import httpx
from pydantic import BaseModel, Field

from joinedup.demo import consent_seed, referral_seed
from joinedup.demo.exceptions import SeedError
from joinedup.demo.exceptions import checked_json as _check
from joinedup.demo.scenario import Scenario
from joinedup.localfed import LocalFederation

SEED_FILE = "seed.json"
SEED_FORMAT = 1


# -- what a seed run leaves behind -------------------------------------------------


class SeedResult(BaseModel):
    """What the seed created; stored as ``seed.json`` so a second run can reuse it."""

    format: int = SEED_FORMAT
    seeded_at: dt.datetime
    subjects: dict[str, str] = Field(description="person key -> subject_id")
    persons: dict[str, dict[str, int]] = Field(description="org_id -> person key -> row id")
    counts: dict[str, dict[str, int]] = Field(description="org_id -> kind -> rows created")
    consents: dict[str, list[str]] = Field(description="person key -> consent ids")
    links: dict[str, dict[str, str]] = Field(
        default_factory=dict, description="person key -> partner org_id -> link outcome"
    )
    referrals: list[str] = Field(
        default_factory=list, description="ids of the scenario's referrals, in its order"
    )


def read_seed_result(root: Path) -> SeedResult | None:
    path = Path(root) / SEED_FILE
    if not path.exists():
        return None
    return SeedResult.model_validate_json(path.read_text())


def _write_seed_result(root: Path, result: SeedResult) -> None:
    path = Path(root) / SEED_FILE
    tmp = path.with_suffix(".tmp")
    tmp.write_text(result.model_dump_json(indent=2) + "\n")
    os.replace(tmp, path)


# -- staff accounts, straight into each node's database ------------------------------


def create_staff_accounts(federation: LocalFederation, scenario: Scenario) -> None:
    """Create the scenario's staff at every node, skipping usernames that exist.

    Called once the nodes answer ``/health``: each has migrated its own database
    in its lifespan (in parallel), and SQLite in WAL mode takes this writer beside
    the running server. There is no admin account to ask yet, so this is the one
    step that uses the service function directly rather than the API.
    """
    from sqlmodel import Session, select

    from node.auth.models import Staff
    from node.auth.service import create_staff
    from node.db import make_engine

    for org in scenario.organisations:
        data_dir = federation.data_dir(org.org_id)
        engine = make_engine(f"sqlite:///{data_dir}/node.db")
        try:
            with Session(engine) as session:
                existing = set(session.exec(select(Staff.username)).all())
                for account in scenario.staff:
                    if account.username in existing:
                        continue
                    create_staff(
                        session=session,
                        username=account.username,
                        password=scenario.password,
                        role=account.role,
                        display_name=account.display_name,
                    )
                session.commit()
        finally:
            engine.dispose()


# -- against the running federation ----------------------------------------------------


def staff_token(client: httpx.Client, base_url: str, username: str, password: str) -> str:
    """A bearer token from the node's ``POST /auth/token`` (OAuth2 password form)."""
    body = _check(
        client.post(f"{base_url}/auth/token", data={"username": username, "password": password}),
        f"sign in as {username} at {base_url}",
    )
    return str(body["access_token"])


def _seed_node_records(
    client: httpx.Client,
    base_url: str,
    token: str,
    org_id: str,
    scenario: Scenario,
    today: dt.date,
) -> tuple[dict[str, int], dict[str, int]]:
    headers = {"Authorization": f"Bearer {token}"}
    persons: dict[str, int] = {}
    counts = {"persons": 0, "needs": 0, "actions": 0, "contacts": 0}
    for record in scenario.records.get(org_id, []):
        details = scenario.people[record.person]
        person_body = details.model_dump(mode="json", exclude={"summary"}, exclude_none=True)
        person = _check(
            client.post(
                f"{base_url}/persons",
                json={**person_body, "local_ref": record.local_ref},
                headers=headers,
            ),
            f"{org_id}: create person {record.person}",
        )
        person_id = int(person["id"])
        persons[record.person] = person_id
        counts["persons"] += 1
        for need in record.needs:
            need_body = {
                "person_id": person_id,
                "category": need.category,
                "description": need.description.strip(),
                "severity": need.severity,
                "status": need.status,
                "since": (today - dt.timedelta(days=need.since_days_ago)).isoformat(),
            }
            created = _check(
                client.post(f"{base_url}/needs", json=need_body, headers=headers),
                f"{org_id}: create need {need.key}",
            )
            counts["needs"] += 1
            for action in need.actions:
                action_body: dict[str, Any] = {
                    "person_id": person_id,
                    "need_id": int(created["id"]),
                    "what": action.what,
                    "owner": action.owner,
                    "status": action.status,
                }
                if action.due_in_days is not None:
                    action_body["due"] = (today + dt.timedelta(days=action.due_in_days)).isoformat()
                _check(
                    client.post(f"{base_url}/actions", json=action_body, headers=headers),
                    f"{org_id}: create action for {need.key}",
                )
                counts["actions"] += 1
        for contact in record.contacts:
            _check(
                client.post(
                    f"{base_url}/contacts",
                    json={"person_id": person_id, **contact.model_dump()},
                    headers=headers,
                ),
                f"{org_id}: create contact {contact.worker_name}",
            )
            counts["contacts"] += 1
    return persons, counts


def _refuse_partial_seed(client: httpx.Client, base_url: str, token: str, org_id: str) -> None:
    # No seed.json but records present: an earlier seed stopped half-way. Seeding
    # again would duplicate people, so stop and say how to start afresh.
    body = _check(
        client.get(
            f"{base_url}/persons", params={"limit": 1}, headers={"Authorization": f"Bearer {token}"}
        ),
        f"{org_id}: list persons",
    )
    if int(body["count"]) > 0:
        raise SeedError(
            f"{org_id} already holds records but {SEED_FILE} is missing: an earlier seed "
            "did not finish. Delete the data directory to start afresh."
        )


def _enrol(
    client: httpx.Client, base_url: str, token: str, person_id: int, step: str
) -> tuple[str, dict[str, str]]:
    """Enrol through a node; the subject_id and each partner's link outcome."""
    body = _check(
        client.post(
            f"{base_url}/persons/{person_id}/enrol",
            headers={"Authorization": f"Bearer {token}"},
        ),
        step,
    )
    outcomes = {p["org_id"]: p["status"] for p in body.get("partners", [])}
    return str(body["subject_id"]), outcomes


def _seed_services(client: httpx.Client, federation: LocalFederation, scenario: Scenario) -> None:
    """Each organisation's admin publishes its services in the needs guide."""
    admin = next(s.username for s in scenario.staff if s.role == "admin")
    for org_id, services in scenario.services.items():
        base_url = federation.node(org_id).base_url
        token = staff_token(client, base_url, admin, scenario.password)
        for entry in services:
            _check(
                client.post(
                    f"{base_url}/guide/services",
                    json=entry.model_dump(mode="json", exclude_none=True),
                    headers={"Authorization": f"Bearer {token}"},
                ),
                f"{org_id}: publish the service {entry.id}",
            )


def seed_federation(
    federation: LocalFederation, scenario: Scenario, *, today: dt.date | None = None
) -> SeedResult:
    """Seed the running federation once and record what was made in ``seed.json``."""
    today = today or dt.date.today()
    persons: dict[str, dict[str, int]] = {}
    counts: dict[str, dict[str, int]] = {}
    tokens: dict[str, str] = {}
    seeder = next(s.username for s in scenario.staff if s.role == "coordinator")
    with httpx.Client(timeout=30.0) as client:
        for org in scenario.organisations:
            base_url = federation.node(org.org_id).base_url
            tokens[org.org_id] = staff_token(client, base_url, seeder, scenario.password)
            _refuse_partial_seed(client, base_url, tokens[org.org_id], org.org_id)
        for org in scenario.organisations:
            base_url = federation.node(org.org_id).base_url
            persons[org.org_id], counts[org.org_id] = _seed_node_records(
                client, base_url, tokens[org.org_id], org.org_id, scenario, today
            )
        subjects: dict[str, str] = {}
        links: dict[str, dict[str, str]] = {}
        for enrolment in scenario.enrolments:
            subjects[enrolment.person], links[enrolment.person] = _enrol(
                client,
                federation.node(enrolment.via).base_url,
                tokens[enrolment.via],
                persons[enrolment.via][enrolment.person],
                f"{enrolment.via}: enrol {enrolment.person}",
            )
        _seed_services(client, federation, scenario)
        consents = consent_seed.seed_consent_service(
            client, federation, scenario, subjects=subjects
        )
        referrals = referral_seed.seed_referrals(
            client, federation, scenario, subjects=subjects, tokens=tokens
        )
    result = SeedResult(
        seeded_at=dt.datetime.now(dt.UTC),
        subjects=subjects,
        persons=persons,
        counts=counts,
        consents=consents,
        links=links,
        referrals=referrals,
    )
    _write_seed_result(federation.root, result)
    return result

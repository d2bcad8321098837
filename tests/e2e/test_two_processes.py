"""Two processes of one node on one PostgreSQL database: one node, whichever answers.

The GP runs as two uvicorn processes on two ports, sharing its data directory (its
keys) and one PostgreSQL database, as two workers or two replicas would. What one
process has seen, the other honours at once:

- a signed request accepted by one is refused (409) when replayed to the other;
- a revocation pushed to one refuses, at the other, the consent token it covers;
- 1,000 share requests answered concurrently by both leave one audit log that
  verifies, with no gap and no duplicate in its order;
- failed sign-ins at either process count towards one lockout.

Runs only when ``JOINEDUP_TEST_POSTGRES_URL`` names a server (SQLite is one file
on one machine: not the deployment this is about).
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import pytest
import sqlalchemy as sa
from nacl.signing import VerifyKey
from sqlmodel import Session

from federation.consent_token import ConsentProvisionClaim
from federation.envelope import new_request_id
from federation.keys import b64decode
from joinedup.localfed import NODE_FACTORY, temporary_postgres_database
from node.audit.verify import verify_log
from node.auth.service import create_staff
from tests.fixtures.db import postgres_server_url
from tests.fixtures.federation import STAFF_PASSWORD, RunningFederation, start_federation
from tests.fixtures.servers import RunningServer, ServerSpec, free_port, launch, wait_ready

pytestmark = [pytest.mark.e2e, pytest.mark.postgres]

ORGS = [("council", "council", "Riverside Council"), ("gp", "gp", "Hill Street GP")]
APPENDS = 1_000


@dataclass
class TwoGps:
    fed: RunningFederation
    second: RunningServer
    database_url: str

    @property
    def urls(self) -> tuple[str, str]:
        return self.fed.url("gp"), self.second.base_url


@pytest.fixture(scope="module")
def gps(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TwoGps]:
    server = postgres_server_url()
    if server is None:
        pytest.skip("JOINEDUP_TEST_POSTGRES_URL is not set")
    root = tmp_path_factory.mktemp("two-gps")
    with temporary_postgres_database(server) as url:
        gp_env = {"gp": {"JOINEDUP_NODE_DATABASE_URL": url}}
        with start_federation(root, ORGS, consent=False, node_env=gp_env) as fed:
            first = fed.servers["gp"]
            second = launch(ServerSpec("gp-b", NODE_FACTORY, first.env, free_port()), root / "logs")
            try:
                wait_ready(second, timeout=120)
                yield TwoGps(fed, second, url)
            finally:
                second.stop()


def share_body(subject_id: str, consent_token: str | None = None) -> dict[str, object]:
    return {
        "subject_id": subject_id,
        "purpose": "care_coordination",
        "categories": ["physical_health"],
        "staff_role": "coordinator",
        "staff_pseudonym": "stf_two",
        "consent_token": consent_token,
    }


def post(url: str, token: str, path: str = "/federation/share") -> httpx.Response:
    return httpx.post(f"{url}{path}", json={"request": token}, timeout=30)


def test_a_request_accepted_by_one_process_is_refused_by_the_other(gps: TwoGps) -> None:
    token = gps.fed.sign("council", "gp", "share", share_body("sub_replayed"))
    first, second = gps.urls
    assert post(first, token).status_code == 200
    replayed = post(second, token)
    assert replayed.status_code == 409
    assert replayed.json()["type"].endswith("request-replayed")


def test_a_revocation_pushed_to_one_process_is_honoured_by_the_other_at_once(
    gps: TwoGps,
) -> None:
    fed = gps.fed
    first, second = gps.urls
    consent_token = fed.consent_token(
        requester="council",
        subject_id="sub_revoked",
        purpose="care_coordination",
        provisions=[
            ConsentProvisionClaim(
                consent_id="cns_two",
                purposes=["care_coordination"],
                recipients=["council"],
                categories=["physical_health"],
                actions=["read"],
            )
        ],
        max_age_s=60,
    )

    def decision(url: str) -> dict[str, object]:
        request_id = new_request_id()
        token = fed.sign(
            "council",
            "gp",
            "share",
            share_body("sub_revoked", consent_token),
            request_id=request_id,
        )
        answer = post(url, token)
        assert answer.status_code == 200, answer.text
        opened = fed.open(
            requester="council",
            responder="gp",
            response_token=answer.json()["response"],
            request_id=request_id,
        )
        result: dict[str, object] = opened["decision"]
        return result

    assert decision(second)["allow"] is True  # the second process has cached nothing
    time.sleep(1.1)  # token times are whole seconds: the revocation comes strictly after
    push = {"consent_id": "cns_two", "subject_id": "sub_revoked", "revoked_at": int(time.time())}
    pushed = post(first, fed.sign("consent", "gp", "revoke", push), "/federation/revocations")
    assert pushed.status_code == 200, pushed.text
    assert decision(second)["allow"] is False


def test_concurrent_appends_over_both_processes_make_one_valid_log(gps: TwoGps) -> None:
    fed = gps.fed
    engine = sa.create_engine(gps.database_url)
    try:
        with engine.connect() as connection:
            before = connection.execute(sa.text("SELECT count(*) FROM audit_entry")).scalar_one()

        async def send_all() -> list[int]:
            limits = asyncio.Semaphore(40)
            async with httpx.AsyncClient(timeout=120) as client:

                async def one(index: int) -> int:
                    url = gps.urls[index % 2]
                    async with limits:  # signed when sent: a request lives 30 s
                        token = fed.sign("council", "gp", "share", share_body(f"sub_{index:04d}"))
                        answer = await client.post(
                            f"{url}/federation/share", json={"request": token}
                        )
                    return answer.status_code

                return await asyncio.gather(*(one(i) for i in range(APPENDS)))

        statuses = asyncio.run(send_all())
        assert statuses.count(200) == APPENDS, {s: statuses.count(s) for s in set(statuses)}
        verify_key = VerifyKey(b64decode(fed.registry.member("gp").verify_keys[0]))
        with engine.connect() as connection:
            seqs = [
                row[0]
                for row in connection.execute(sa.text("SELECT seq FROM audit_entry ORDER BY seq"))
            ]
            report = verify_log(connection=connection, verify_keys=[verify_key], org_id="gp")
    finally:
        engine.dispose()
    assert len(seqs) == before + APPENDS
    assert seqs == list(range(seqs[0], seqs[0] + len(seqs)))  # no gap, no duplicate
    assert report.ok, json.dumps(report.model_dump()["problems"][:5])
    assert report.entries_checked == len(seqs)


def test_a_sign_in_lockout_counts_failures_at_both_processes(gps: TwoGps) -> None:
    engine = sa.create_engine(gps.database_url)
    try:
        with Session(engine) as session:
            create_staff(
                session=session, username="two-lockout", password=STAFF_PASSWORD, role="coordinator"
            )
            session.commit()
    finally:
        engine.dispose()
    first, second = gps.urls

    def sign_in(url: str, password: str) -> httpx.Response:
        form = {"username": "two-lockout", "password": password}
        return httpx.post(f"{url}/auth/token", data=form, timeout=30)

    assert sign_in(second, STAFF_PASSWORD).status_code == 200
    # Five failures (the username's limit) spread over the two processes ...
    statuses = [sign_in((first, second)[i % 2], "wrong-password").status_code for i in range(5)]
    assert statuses == [401] * 5
    # ... lock the username at both, even for the right password.
    for url in (first, second):
        locked = sign_in(url, STAFF_PASSWORD)
        assert locked.status_code == 429
        assert int(locked.headers["retry-after"]) > 0

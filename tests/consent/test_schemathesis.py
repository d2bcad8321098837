"""Property-based fuzzing of the consent service's API: no input gives a 500.

schemathesis generates requests (valid and invalid) from the OpenAPI schema of a
real consent service process and sends them with a customer's bearer token, so the
customer handlers run for real; the federation endpoints get unsigned or garbled
envelopes. Every answer must be below 500 and every 4xx problem+json.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from sqlmodel import Session

from consent.customers.service import create_customer_account
from consent.db import make_engine, upgrade_database
from consent.subjects.service import enrol_subject
from federation.keys import b64encode
from tests.consent.conftest import make_federation
from tests.fixtures.servers import RunningServer, ServerSpec, free_port, uvicorn_process

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def fuzz_consent(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[RunningServer, str]]:
    data_dir = tmp_path_factory.mktemp("fuzz-consent")
    port = free_port()
    urls = dict.fromkeys(("council", "gp", "police"), "http://127.0.0.1:9")
    urls["consent"] = f"http://127.0.0.1:{port}"
    authority, _ = make_federation(data_dir, urls)
    engine = make_engine(f"sqlite:///{data_dir}/consent.db")
    upgrade_database(engine)
    with Session(engine) as session:
        subject_id, _ = enrol_subject(
            session=session, linkage_tokens=["v1.nn." + "9" * 64], enrolled_by="council"
        )
        create_customer_account(
            session=session, subject_id=subject_id, username="fuzzer", password="fuzzing passphrase"
        )
        session.commit()
    engine.dispose()
    spec = ServerSpec(
        name="fuzz-consent",
        factory="consent.main:create_app_from_env",
        env={
            "JOINEDUP_CONSENT_DATA_DIR": str(data_dir),
            "JOINEDUP_CONSENT_REGISTRY_PATH": str(data_dir / "registry.json"),
            "JOINEDUP_CONSENT_AUTHORITY_VERIFY_KEY": b64encode(bytes(authority.verify_key)),
            "JOINEDUP_CONSENT_REVOCATION_PUSH_TIMEOUT_S": "0.5",
        },
        port=port,
    )
    with uvicorn_process(spec, data_dir / "logs") as server:
        import httpx

        login = httpx.post(
            f"{server.base_url}/customer/login",
            json={"username": "fuzzer", "password": "fuzzing passphrase"},
            timeout=10,
        )
        login.raise_for_status()
        yield server, login.json()["access_token"]


def test_no_input_gives_a_server_error(fuzz_consent: tuple[RunningServer, str]) -> None:
    server, token = fuzz_consent
    schema = schemathesis.openapi.from_url(f"{server.base_url}/openapi.json")
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 14
    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(
            max_examples=12,
            deadline=None,
            suppress_health_check=list(HealthCheck),
            derandomize=True,
            database=None,
        )
        def check(case: Any) -> None:
            headers = {"Authorization": f"Bearer {token}"}
            response = case.call(base_url=server.base_url, headers=headers, timeout=10)
            assert response.status_code < 500, (case.method, case.path, response.text[:300])
            if 400 <= response.status_code < 500:
                content_type = response.headers.get("content-type") or [""]
                assert content_type[0].startswith("application/problem+json"), case.path

        check()

"""No input to the federation endpoints (share, link, enrol, reviews) gives a 500.

Two layers: schemathesis over the OpenAPI operations of a real node process (what an
outsider can send), and hypothesis-generated ``body`` claims inside *validly signed*
requests from a real member (what a buggy or hostile partner can send after
passing signature checks). Every answer must be below 500; every 4xx problem+json.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.fixtures.federation import RunningFederation, start_federation

pytestmark = pytest.mark.e2e

FEDERATION_PATHS = (
    r"^/federation/(share|link)$|^/persons/\{person_id\}/enrol$|^/links/reviews(/\{review_id\}/"
    r"(confirm|reject))?$"
)
ORGS = [("council", "council", "Riverside Council"), ("gp", "gp", "Riverside GP")]

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4)
    ),
    max_leaves=12,
)
share_like = st.fixed_dictionaries(
    {},
    optional={
        "subject_id": json_values,
        "purpose": st.sampled_from(["care_coordination", "safeguarding", "x"]) | json_values,
        "categories": st.lists(st.sampled_from(["housing", "criminal_justice", "zzz"]))
        | json_values,
        "staff_role": st.sampled_from(["coordinator", "frontline"]) | json_values,
        "staff_pseudonym": json_values,
        "consent_token": json_values,
        "emergency": json_values,
        "view_id": json_values,
        "linkage_tokens": st.lists(st.text(max_size=80), max_size=3) | json_values,
    },
)


@pytest.fixture(scope="module")
def fed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningFederation]:
    with start_federation(tmp_path_factory.mktemp("fuzz-fed"), ORGS, consent=False) as running:
        yield running


def _check(response: Any, where: str) -> None:
    assert response.status_code < 500, (where, response.text[:300])
    if 400 <= response.status_code < 500:
        assert response.headers["content-type"].startswith("application/problem+json"), where


def test_openapi_operations_never_answer_500(fed: RunningFederation) -> None:
    token = fed.staff_token("gp", "fuzz-admin", "admin")
    schema = schemathesis.openapi.from_url(f"{fed.url('gp')}/openapi.json").include(
        path_regex=FEDERATION_PATHS
    )
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) == 6
    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(
            max_examples=15,
            deadline=None,
            suppress_health_check=list(HealthCheck),
            derandomize=True,
            database=None,
        )
        def check(case: Any) -> None:
            response = case.call(
                base_url=fed.url("gp"), headers={"Authorization": f"Bearer {token}"}, timeout=10
            )
            assert response.status_code < 500, (case.method, case.path, response.text[:300])

        check()


@pytest.mark.parametrize(
    ("action", "path"), [("share", "/federation/share"), ("link", "/federation/link")]
)
def test_signed_requests_with_arbitrary_bodies_never_answer_500(
    fed: RunningFederation, action: str, path: str
) -> None:
    @given(body=share_like)
    @settings(
        max_examples=40,
        deadline=None,
        suppress_health_check=list(HealthCheck),
        derandomize=True,
        database=None,
    )
    def check(body: dict[str, Any]) -> None:
        response = fed.post("gp", path, fed.sign("council", "gp", action, body))
        _check(response, f"{action} {body!r}"[:200])
        if response.status_code == 200 and action == "share":
            assert set(response.json()) == {"response"}

    check()

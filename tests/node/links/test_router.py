"""Enrolment and linkage across real processes: council enrols, partners link or queue.

One federation per module (council, gp, police and the real consent service).
The council's outgoing traffic is captured (``JOINEDUP_NODE_TRAFFIC_LOG``) to show
that only linkage tokens — never a name, date of birth or national number — leave
the node.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date

import httpx
import pytest
from sqlmodel import select

from federation.enrolment import issue_enrolment_statement
from federation.keys import MemberKeys
from federation.linkage import linkage_tokens
from federation.registry import CONSENT_SERVICE_ID
from node.audit.models import AuditEntry
from node.links.models import LinkReview, SubjectLink
from tests.fixtures.federation import RunningFederation, start_federation

pytestmark = pytest.mark.e2e

ORGS = [
    ("council", "council", "Riverside Council"),
    ("gp", "gp", "Riverside GP"),
    ("police", "police", "Riverside Police"),
]
GRACE = {
    "family_name": "Okafor",
    "given_name": "Grace",
    "date_of_birth": date(1971, 3, 4),
    "postcode": "RV1 2AB",
}


@pytest.fixture(scope="module")
def fed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningFederation]:
    with start_federation(
        tmp_path_factory.mktemp("links"), ORGS, consent=True, traffic_log=True
    ) as running:
        yield running


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def enrol(fed: RunningFederation, person_id: int, token: str) -> httpx.Response:
    return httpx.post(
        f"{fed.url('council')}/persons/{person_id}/enrol", headers=bearer(token), timeout=30
    )


def subject_link(fed: RunningFederation, org_id: str, subject_id: str) -> SubjectLink | None:
    with fed.session(org_id) as session:
        return session.exec(select(SubjectLink).where(SubjectLink.subject_id == subject_id)).first()


def test_enrolment_links_a_unique_match_and_queues_an_ambiguous_one(
    fed: RunningFederation,
) -> None:
    council_person = fed.add_person("council", **GRACE, national_number="943 476 5919")
    gp_person = fed.add_person("gp", **GRACE, national_number="9434765919")
    fed.add_person("gp", **{**GRACE, "given_name": "Gregory"}, national_number="1112223333")
    # Two police records share the demographics and hold no national number.
    police_a = fed.add_person("police", **GRACE)
    police_b = fed.add_person("police", **GRACE)
    token = fed.staff_token("council", "enroller", "frontline")

    response = enrol(fed, council_person, token)

    assert response.status_code == 200, response.text
    result = response.json()
    subject_id = result["subject_id"]
    assert subject_id.startswith("sub_")
    # The requester learns only that each partner received the request, never
    # whether it knows the person; the outcome is in the partner's own audit log.
    assert {p["org_id"]: p["status"] for p in result["partners"]} == {
        "gp": "received",
        "police": "received",
    }
    council_link = subject_link(fed, "council", subject_id)
    assert council_link is not None
    assert council_link.person_id == council_person
    assert council_link.method == "enrolment"
    gp_link = subject_link(fed, "gp", subject_id)
    assert gp_link is not None
    assert gp_link.person_id == gp_person
    assert gp_link.method == "linkage"
    assert subject_link(fed, "police", subject_id) is None
    with fed.session("police") as session:
        review = session.exec(select(LinkReview).where(LinkReview.subject_id == subject_id)).one()
        audit = session.exec(select(AuditEntry).where(AuditEntry.kind == "link")).all()
    assert sorted(review.candidate_person_ids) == sorted([police_a, police_b])
    assert [e.reason.split(":")[0] for e in audit] == ["queued"]

    # Enrolling again is idempotent at the consent service and already linked at the gp.
    again = enrol(fed, council_person, token).json()
    assert again["subject_id"] == subject_id
    assert again["created"] is False
    assert {p["org_id"]: p["status"] for p in again["partners"]}["gp"] == "received"
    with fed.session("gp") as session:
        gp_audit = session.exec(select(AuditEntry).where(AuditEntry.kind == "link")).all()
    assert [e.reason.split(":")[0] for e in gp_audit if e.subject_id == subject_id] == [
        "linked",
        "already_linked",
    ]

    # A police coordinator resolves the queued review.
    police_token = fed.staff_token("police", "reviewer", "coordinator")
    listed = httpx.get(
        f"{fed.url('police')}/links/reviews", headers=bearer(police_token), timeout=10
    )
    assert listed.status_code == 200
    (pending,) = [r for r in listed.json()["data"] if r["subject_id"] == subject_id]
    confirmed = httpx.post(
        f"{fed.url('police')}/links/reviews/{pending['id']}/confirm",
        json={"person_id": police_b},
        headers=bearer(police_token),
        timeout=10,
    )
    assert confirmed.status_code == 200, confirmed.text
    assert confirmed.json()["status"] == "confirmed"
    police_link = subject_link(fed, "police", subject_id)
    assert police_link is not None
    assert police_link.person_id == police_b
    assert police_link.method == "manual"
    twice = httpx.post(
        f"{fed.url('police')}/links/reviews/{pending['id']}/reject",
        headers=bearer(police_token),
        timeout=10,
    )
    assert twice.status_code == 409


def test_enrolment_of_someone_unknown_elsewhere_looks_like_any_other(
    fed: RunningFederation,
) -> None:
    person = fed.add_person(
        "council",
        family_name="Lindqvist",
        given_name="Ola",
        date_of_birth=date(1990, 7, 8),
        postcode="RV9 9ZZ",
    )
    token = fed.staff_token("council", "enroller", "frontline")
    response = enrol(fed, person, token)
    assert response.status_code == 200, response.text
    subject_id = response.json()["subject_id"]
    assert {p["status"] for p in response.json()["partners"]} == {"received"}
    for org in ("gp", "police"):
        with fed.session(org) as session:
            entries = session.exec(
                select(AuditEntry).where(AuditEntry.subject_id == subject_id)
            ).all()
        assert [e.reason.split(":")[0] for e in entries] == ["no_match"]


def test_no_raw_identifier_leaves_the_enrolling_node(fed: RunningFederation) -> None:
    person = fed.add_person(
        "council",
        family_name="Featherstonehaugh",
        given_name="Rosalind",
        date_of_birth=date(1984, 11, 23),
        postcode="QX7 1PL",
        national_number="485 777 3456",
    )
    token = fed.staff_token("council", "enroller", "frontline")
    assert enrol(fed, person, token).status_code == 200
    traffic = fed.traffic("council")
    assert {line["url"].rsplit("/", 1)[-1] for line in traffic} >= {"enrol", "link"}
    dumped = "\n".join(line["body"] for line in traffic).lower()
    for raw in ("featherstonehaugh", "rosalind", "1984-11-23", "4857773456", "485 777", "qx7"):
        assert raw not in dumped


def test_roles_that_may_not_enrol_are_refused(fed: RunningFederation) -> None:
    person = fed.add_person("council", **GRACE)
    auditor = fed.staff_token("council", "auditor", "auditor")
    response = enrol(fed, person, auditor)
    assert response.status_code == 403
    assert subject_link(fed, "council", "x") is None


def test_enrolling_an_unknown_person_is_a_404(fed: RunningFederation) -> None:
    token = fed.staff_token("council", "enroller", "frontline")
    assert enrol(fed, 999_999, token).status_code == 404


def test_enrolling_a_person_with_too_few_identifiers_is_a_422(fed: RunningFederation) -> None:
    # No postcode and no national number: nothing to link by. The caller can fix
    # that (it is not the service being unavailable), so 422, and nothing is sent.
    person = fed.add_person(
        "council", family_name="Okafor", given_name="Ada", date_of_birth=date(1991, 2, 3)
    )
    token = fed.staff_token("council", "enroller", "frontline")
    response = enrol(fed, person, token)
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["type"].endswith("/too-few-identifiers")
    assert "postcode" in response.json()["detail"]


def test_frontline_staff_may_not_decide_reviews(fed: RunningFederation) -> None:
    token = fed.staff_token("police", "frontliner", "frontline")
    response = httpx.get(f"{fed.url('police')}/links/reviews", headers=bearer(token), timeout=10)
    assert response.status_code == 403


def test_link_request_from_a_non_member_is_refused(fed: RunningFederation) -> None:
    signed = fed.sign(
        "stranger",
        "gp",
        "link",
        {"subject_id": "sub_x", "linkage_tokens": ["v1.nn." + "0" * 64]},
        keys=MemberKeys.generate(),
    )
    assert fed.post("gp", "/federation/link", signed).status_code == 403


def _statement(
    fed: RunningFederation,
    subject_id: str,
    tokens: list[str],
    *,
    keys: MemberKeys | None = None,
    enrolled_by: str = "council",
    now: float | None = None,
) -> str:
    return issue_enrolment_statement(
        keys=keys or fed.keys[CONSENT_SERVICE_ID],
        subject_id=subject_id,
        enrolled_by=enrolled_by,
        linkage_tokens=tokens,
        now=now,
    )


def test_a_link_request_must_be_vouched_for_by_the_consent_service(
    fed: RunningFederation,
) -> None:
    # A member that knew someone's identifiers must not be able to attach the
    # partner's record of them to a subject of its choosing.
    person = {**GRACE, "given_name": "Hester", "family_name": "Vouch"}
    person["national_number"] = "9990001234"
    gp_person = fed.add_person("gp", **person)
    tokens = linkage_tokens(key=fed.linkage_key, **person)
    assert len(tokens) == 2  # national number, and names + date of birth + postcode
    # The subject ids are syntactically fine; no consent service statement binds them.
    refusals = {
        "no statement": {"subject_id": "sub_victim", "linkage_tokens": tokens},
        "forged by a member": {
            "subject_id": "sub_victim",
            "linkage_tokens": tokens,
            "enrolment": _statement(fed, "sub_victim", tokens, keys=MemberKeys.generate()),
        },
        "another subject": {
            "subject_id": "sub_victim",
            "linkage_tokens": tokens,
            "enrolment": _statement(fed, "sub_other", tokens),
        },
        "another member": {
            "subject_id": "sub_victim",
            "linkage_tokens": tokens,
            "enrolment": _statement(fed, "sub_victim", tokens, enrolled_by="police"),
        },
        "tokens it does not name": {
            "subject_id": "sub_victim",
            "linkage_tokens": tokens,
            "enrolment": _statement(fed, "sub_victim", tokens[:1]),
        },
        "expired": {
            "subject_id": "sub_victim",
            "linkage_tokens": tokens,
            "enrolment": _statement(fed, "sub_victim", tokens, now=1_000_000),
        },
    }
    for label, body in refusals.items():
        response = fed.post("gp", "/federation/link", fed.sign("council", "gp", "link", body))
        assert response.status_code == 403, label
        assert response.json()["type"].endswith("enrolment-invalid"), label
    assert subject_link(fed, "gp", "sub_victim") is None
    # The same request with the consent service's statement links.
    good = {**refusals["no statement"], "enrolment": _statement(fed, "sub_victim", tokens)}
    response = fed.post("gp", "/federation/link", fed.sign("council", "gp", "link", good))
    assert response.status_code == 200, response.text
    assert response.json() == {"status": "received"}
    link = subject_link(fed, "gp", "sub_victim")
    assert link is not None
    assert link.person_id == gp_person


def test_malformed_link_body_is_a_400(fed: RunningFederation) -> None:
    signed = fed.sign("council", "gp", "link", {"subject_id": "sub_x", "linkage_tokens": []})
    assert fed.post("gp", "/federation/link", signed).status_code == 400

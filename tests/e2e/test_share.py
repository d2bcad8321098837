"""POST /federation/share between real node processes on loopback.

One federation (council, gp, police) per module. The consent token is minted with
the consent service's real key (``issue_consent_token``), which is exactly what the
holder verifies offline; revocation goes through the node's real revocation push
endpoint. Every refusal is checked to release nothing: no 200, and no audit entry
that released a category for that request.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from typing import Any

import pytest
import sqlalchemy as sa
from sqlmodel import select

from federation.consent_token import ConsentProvisionClaim
from federation.envelope import sign_request
from federation.keys import MemberKeys
from federation.share_schema import SharedSection, ShareRequestBody
from node.audit.models import AuditEntry
from node.share.service import DEADLINE_PASSED_REASON
from tests.fixtures.federation import RunningFederation, start_federation

pytestmark = pytest.mark.e2e

ORGS = [
    ("council", "council", "Riverside Council"),
    ("gp", "gp", "Riverside GP"),
    ("police", "police", "Riverside Police"),
]
SUBJECT = "sub_share_e2e"
PURPOSE = "care_coordination"


@dataclass
class Seeded:
    fed: RunningFederation
    physical_need: int
    mental_need: int
    physical_action: int
    mental_action: int


@pytest.fixture(scope="module")
def seeded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Seeded]:
    with start_federation(tmp_path_factory.mktemp("share"), ORGS, consent=False) as fed:
        person = fed.add_person(
            "gp",
            family_name="Okafor",
            given_name="Grace",
            date_of_birth=date(1971, 3, 4),
            postcode="RV1 2AB",
            national_number="943 476 5919",
        )
        fed.link("gp", SUBJECT, person)
        physical = fed.add_need(
            "gp", person, category="physical_health", description="Type 2 diabetes"
        )
        mental = fed.add_need("gp", person, category="mental_health", description="Anxiety")
        physical_action = fed.add_action(
            "gp", person, need_id=physical, what="Diabetes review", owner="Dr Patel"
        )
        mental_action = fed.add_action(
            "gp", person, need_id=mental, what="Talking therapy", owner="Dr Patel"
        )
        fed.add_contact("gp", person, worker_name="Dr Patel", role="GP", how_to_reach="surgery")
        police_person = fed.add_person(
            "police", family_name="Okafor", given_name="Grace", date_of_birth=date(1971, 3, 4)
        )
        fed.link("police", SUBJECT, police_person)
        fed.add_need("police", police_person, category="criminal_justice", description="bail")
        fed.add_need("police", police_person, category="safety", description="risk")
        yield Seeded(fed, physical, mental, physical_action, mental_action)


def provision(consent_id: str, categories: list[str], recipient: str = "council") -> Any:
    return ConsentProvisionClaim(
        consent_id=consent_id,
        purposes=[PURPOSE],
        recipients=[recipient],
        categories=categories,
        actions=["read"],
    )


def share_body(fed: RunningFederation, **overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "subject_id": SUBJECT,
        "purpose": PURPOSE,
        "categories": [],
        "staff_role": "coordinator",
        "staff_pseudonym": "stf_test",
        "consent_token": None,
        "emergency": None,
    }
    body.update(overrides)
    return body


def ask(
    fed: RunningFederation, holder: str, body: dict[str, Any], requester: str = "council"
) -> tuple[str, Any]:
    """Send a share request; return (request id, response)."""
    request_id = f"req-{time.monotonic_ns()}"
    token = fed.sign(requester, holder, "share", body, request_id=request_id)
    return request_id, fed.post(holder, "/federation/share", token)


def opened(fed: RunningFederation, holder: str, request_id: str, response: Any) -> SharedSection:
    assert response.status_code == 200, response.text
    body = fed.open(
        requester="council",
        responder=holder,
        response_token=response.json()["response"],
        request_id=request_id,
    )
    return SharedSection.model_validate(body)


def audit_for(fed: RunningFederation, org_id: str, request_id: str) -> list[AuditEntry]:
    with fed.session(org_id) as session:
        return list(
            session.exec(select(AuditEntry).where(AuditEntry.request_id == request_id)).all()
        )


def test_consent_releases_exactly_the_consented_categories(seeded: Seeded) -> None:
    fed = seeded.fed
    token = fed.consent_token(
        requester="council",
        subject_id=SUBJECT,
        purpose=PURPOSE,
        provisions=[provision("cns_a", ["physical_health"])],
    )
    request_id, response = ask(fed, "gp", share_body(fed, consent_token=token))
    section = opened(fed, "gp", request_id, response)
    assert section.known is True
    assert section.decision.allow is True
    assert section.decision.categories == ["physical_health"]
    assert [n.ref for n in section.needs] == [f"gp:need:{seeded.physical_need}"]
    assert [a.ref for a in section.actions] == [f"gp:action:{seeded.physical_action}"]
    assert section.contacts == []  # contact_details was not consented
    withheld = {w.category: w.reason for w in section.decision.withheld}
    assert "mental_health" in withheld
    # The agreement withholds clinical notes: the free-text description is redacted.
    assert section.needs[0].withheld_fields == ["clinical_notes"]
    assert section.needs[0].description == ""
    entries = audit_for(fed, "gp", request_id)
    assert [(e.kind, e.decision, e.categories) for e in entries] == [
        ("share_decided", "allow", ["physical_health"])
    ]
    assert entries[0].actor_org == "council"
    assert entries[0].holder_org == "gp"


def test_contacts_are_released_only_with_contact_details(seeded: Seeded) -> None:
    fed = seeded.fed
    token = fed.consent_token(
        requester="council",
        subject_id=SUBJECT,
        purpose=PURPOSE,
        provisions=[provision("cns_b", ["contact_details"])],
    )
    request_id, response = ask(fed, "gp", share_body(fed, consent_token=token))
    section = opened(fed, "gp", request_id, response)
    assert section.decision.categories == ["contact_details"]
    assert [c.worker_name for c in section.contacts] == ["Dr Patel"]
    assert section.needs == []
    assert section.actions == []


def test_withheld_for_want_of_consent_names_only_categories_the_holder_holds(
    seeded: Seeded,
) -> None:
    fed = seeded.fed
    # Consent covers nothing: the GP holds physical and mental health records and a
    # contact, but no housing, income, education or safety records.
    token = fed.consent_token(
        requester="council",
        subject_id=SUBJECT,
        purpose=PURPOSE,
        provisions=[provision("cns_none", ["housing"])],
    )
    request_id, response = ask(fed, "gp", share_body(fed, consent_token=token))
    section = opened(fed, "gp", request_id, response)
    held = {w.category: w.reason for w in section.decision.withheld if w.held}
    assert set(held) == {"contact_details", "physical_health", "mental_health"}
    assert all("consent" in reason for reason in held.values())
    # What no agreement covers is said apart from it, and claims nothing is held.
    unheld = [w for w in section.decision.withheld if not w.held]
    assert unheld, "the GP-council agreement does not cover every category"
    assert all("agreement" in w.reason for w in unheld)


def test_a_subject_the_holder_does_not_know_is_never_said_to_be_held(seeded: Seeded) -> None:
    fed = seeded.fed
    body = share_body(fed, subject_id="sub_nobody_here")
    request_id, response = ask(fed, "gp", body)
    section = opened(fed, "gp", request_id, response)
    assert section.known is False
    assert [w.category for w in section.decision.withheld if w.held] == []


def test_the_audit_entry_records_what_was_released_not_what_was_allowed(seeded: Seeded) -> None:
    fed = seeded.fed
    # Consent and agreement allow contact details, safety and victim support; the
    # police hold only a safety record (and a hidden one) for this person.
    allowed = ["contact_details", "safety", "victim_support"]
    token = fed.consent_token(
        requester="council",
        subject_id=SUBJECT,
        purpose=PURPOSE,
        provisions=[provision("cns_c", allowed)],
    )
    request_id, response = ask(fed, "police", share_body(fed, consent_token=token))
    section = opened(fed, "police", request_id, response)
    assert section.decision.categories == allowed
    assert [n.category for n in section.needs] == ["safety"]
    entries = audit_for(fed, "police", request_id)
    assert [(e.decision, e.categories) for e in entries] == [("allow", ["safety"])]


def test_view_id_traces_the_audit_entry(seeded: Seeded) -> None:
    fed = seeded.fed
    request_id, response = ask(fed, "gp", share_body(fed, view_id="view-trace-1"))
    assert response.status_code == 200
    assert audit_for(fed, "gp", request_id) == []
    assert len(audit_for(fed, "gp", "view-trace-1")) == 1


def test_no_consent_token_releases_nothing_and_is_audited_as_denial(seeded: Seeded) -> None:
    fed = seeded.fed
    request_id, response = ask(fed, "gp", share_body(fed))
    section = opened(fed, "gp", request_id, response)
    assert section.decision.allow is False
    assert section.needs == []
    assert section.actions == []
    assert section.contacts == []
    entries = audit_for(fed, "gp", request_id)
    assert [(e.decision, e.categories) for e in entries] == [("deny", [])]


def test_consent_token_for_another_requester_releases_nothing(seeded: Seeded) -> None:
    fed = seeded.fed
    token = fed.consent_token(
        requester="police",
        subject_id=SUBJECT,
        purpose=PURPOSE,
        provisions=[provision("cns_c", ["physical_health"], recipient="council")],
    )
    request_id, response = ask(fed, "gp", share_body(fed, consent_token=token))
    section = opened(fed, "gp", request_id, response)
    assert section.decision.allow is False
    assert section.needs == []


def test_consent_token_signed_by_someone_else_releases_nothing(seeded: Seeded) -> None:
    fed = seeded.fed
    from federation.consent_token import issue_consent_token

    forged = issue_consent_token(
        keys=MemberKeys.generate(),
        subject_id=SUBJECT,
        requester="council",
        purpose=PURPOSE,
        provisions=[provision("cns_d", ["physical_health"])],
    )
    request_id, response = ask(fed, "gp", share_body(fed, consent_token=forged))
    section = opened(fed, "gp", request_id, response)
    assert section.decision.allow is False
    assert section.needs == []


def test_revoked_consent_releases_nothing(seeded: Seeded) -> None:
    fed = seeded.fed
    token = fed.consent_token(
        requester="council",
        subject_id=SUBJECT,
        purpose=PURPOSE,
        provisions=[provision("cns_revoked", ["physical_health"])],
    )
    revoke = fed.sign(
        "consent",
        "gp",
        "revoke",
        {"consent_id": "cns_revoked", "subject_id": SUBJECT, "revoked_at": int(time.time())},
    )
    pushed = fed.post("gp", "/federation/revocations", revoke)
    assert pushed.status_code == 200, pushed.text
    request_id, response = ask(fed, "gp", share_body(fed, consent_token=token))
    section = opened(fed, "gp", request_id, response)
    assert section.decision.allow is False
    assert section.needs == []


def test_emergency_with_justification_releases_with_obligations(seeded: Seeded) -> None:
    fed = seeded.fed
    emergency = {
        "basis": "vital_interests",
        "justification": "Found unconscious at home; paramedics need medication history now.",
    }
    request_id, response = ask(
        fed, "gp", share_body(fed, categories=["physical_health"], emergency=emergency)
    )
    section = opened(fed, "gp", request_id, response)
    assert section.decision.allow is True
    assert section.decision.categories == ["physical_health"]
    assert {"flag_emergency", "notify_customer"} <= set(section.decision.obligations)
    assert [n.ref for n in section.needs] == [f"gp:need:{seeded.physical_need}"]
    (entry,) = audit_for(fed, "gp", request_id)
    assert entry.emergency is True
    assert entry.decision == "allow"


def test_emergency_without_a_real_justification_releases_nothing(seeded: Seeded) -> None:
    fed = seeded.fed
    emergency = {"basis": "vital_interests", "justification": "urgent"}
    request_id, response = ask(
        fed, "gp", share_body(fed, categories=["physical_health"], emergency=emergency)
    )
    section = opened(fed, "gp", request_id, response)
    assert section.decision.allow is False
    assert section.needs == []


def test_existence_hidden_category_is_never_mentioned(seeded: Seeded) -> None:
    fed = seeded.fed
    token = fed.consent_token(
        requester="council",
        subject_id=SUBJECT,
        purpose=PURPOSE,
        provisions=[provision("cns_police", ["safety"])],
    )
    request_id, response = ask(fed, "police", share_body(fed, consent_token=token))
    section = opened(fed, "police", request_id, response)
    assert section.decision.categories == ["safety"]
    dumped = section.model_dump_json()
    assert "criminal_justice" not in dumped
    assert "bail" not in dumped


def test_unknown_subject_is_reported_not_known(seeded: Seeded) -> None:
    fed = seeded.fed
    token = fed.consent_token(
        requester="council",
        subject_id="sub_nobody",
        purpose=PURPOSE,
        provisions=[provision("cns_e", ["physical_health"])],
    )
    request_id, response = ask(
        fed, "gp", share_body(fed, subject_id="sub_nobody", consent_token=token)
    )
    section = opened(fed, "gp", request_id, response)
    assert section.known is False
    assert section.needs == []
    assert section.actions == []
    assert section.contacts == []
    (entry,) = audit_for(fed, "gp", request_id)
    assert entry.categories == []


# -- requests that fail verification: 4xx, and nothing released or audited as allowed --


def _consented_body(fed: RunningFederation) -> dict[str, Any]:
    token = fed.consent_token(
        requester="council",
        subject_id=SUBJECT,
        purpose=PURPOSE,
        provisions=[provision("cns_f", ["physical_health"])],
    )
    return share_body(fed, consent_token=token)


def assert_nothing_released(fed: RunningFederation, request_id: str, response: Any) -> None:
    assert 400 <= response.status_code < 500, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert "response" not in response.json()
    assert all(e.decision != "allow" for e in audit_for(fed, "gp", request_id))


def test_replayed_request_is_refused(seeded: Seeded) -> None:
    fed = seeded.fed
    token = fed.sign("council", "gp", "share", _consented_body(fed), request_id="replay-1")
    assert fed.post("gp", "/federation/share", token).status_code == 200
    again = fed.post("gp", "/federation/share", token)
    assert again.status_code == 409
    assert len(audit_for(fed, "gp", "replay-1")) == 1


def test_forged_signature_is_refused(seeded: Seeded) -> None:
    fed = seeded.fed
    token = fed.sign(
        "council",
        "gp",
        "share",
        _consented_body(fed),
        request_id="forged-1",
        keys=MemberKeys.generate(),
    )
    response = fed.post("gp", "/federation/share", token)
    assert response.status_code == 401
    assert_nothing_released(fed, "forged-1", response)


def test_request_for_another_audience_is_refused(seeded: Seeded) -> None:
    fed = seeded.fed
    token = fed.sign("council", "police", "share", _consented_body(fed), request_id="aud-1")
    response = fed.post("gp", "/federation/share", token)
    assert response.status_code == 401
    assert_nothing_released(fed, "aud-1", response)


def test_expired_request_is_refused(seeded: Seeded) -> None:
    fed = seeded.fed
    token = fed.sign(
        "council",
        "gp",
        "share",
        _consented_body(fed),
        request_id="old-1",
        ttl_s=10,
        now=time.time() - 120,
    )
    response = fed.post("gp", "/federation/share", token)
    assert response.status_code == 401
    assert_nothing_released(fed, "old-1", response)


def test_non_member_is_refused(seeded: Seeded) -> None:
    fed = seeded.fed
    token = fed.sign(
        "stranger",
        "gp",
        "share",
        _consented_body(fed),
        request_id="stranger-1",
        keys=MemberKeys.generate(),
    )
    response = fed.post("gp", "/federation/share", token)
    assert response.status_code == 403
    assert_nothing_released(fed, "stranger-1", response)


def test_request_for_another_action_is_refused(seeded: Seeded) -> None:
    fed = seeded.fed
    token = fed.sign("council", "gp", "link", _consented_body(fed), request_id="act-1")
    response = fed.post("gp", "/federation/share", token)
    assert response.status_code == 401
    assert_nothing_released(fed, "act-1", response)


@pytest.mark.parametrize(
    "raw",
    [
        b"not json",
        b"[]",
        b'{"request": 5}',
        b'{"request": "a.b"}',
        b'{"request": "!!!.???.***"}',
    ],
)
def test_malformed_envelope_is_a_400(seeded: Seeded, raw: bytes) -> None:
    import httpx

    response = httpx.post(
        f"{seeded.fed.url('gp')}/federation/share",
        content=raw,
        headers={"content-type": "application/json"},
        timeout=10,
    )
    assert response.status_code == 400
    assert "response" not in response.json()


def test_malformed_share_body_is_a_400(seeded: Seeded) -> None:
    fed = seeded.fed
    body = share_body(fed, categories="physical_health", unexpected=True)
    token = fed.sign("council", "gp", "share", body, request_id="badbody-1")
    response = fed.post("gp", "/federation/share", token)
    assert response.status_code == 400
    assert_nothing_released(fed, "badbody-1", response)


# -- key rotation through overlapping registry versions (it edits the registry and restores
# the original key before it returns, so the tests after it see the fixture's federation) --


def _accepted_with(fed: RunningFederation, keys: MemberKeys, expect: int) -> bool:
    """Poll until gp answers ``expect`` (it re-reads the registry about once a second)."""
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        token = fed.sign("council", "gp", "share", share_body(fed), keys=keys)
        if fed.post("gp", "/federation/share", token).status_code == expect:
            return True
        time.sleep(0.2)
    return False


def test_key_rotation_overlap_then_retirement(seeded: Seeded) -> None:
    from federation.registry_admin import add_member, member_from_keys, sign_registry_file

    fed = seeded.fed
    old, new = fed.keys["council"], MemberKeys.generate()
    authority_dir = fed.root / "authority"
    council = fed.prepared.node("council")

    def publish(keys: MemberKeys, keep_old_key: bool) -> None:
        member = member_from_keys(
            org_id="council",
            name=council.name,
            kind=council.kind,
            base_url=council.base_url,
            keys=keys,
        )
        add_member(registry_path=fed.registry_path, member=member, keep_old_key=keep_old_key)
        sign_registry_file(registry_path=fed.registry_path, authority_dir=authority_dir)

    try:
        publish(new, keep_old_key=True)  # overlap: both keys verify
        assert _accepted_with(fed, new, 200)
        assert _accepted_with(fed, old, 200)
        publish(new, keep_old_key=False)  # the old key is retired
        assert _accepted_with(fed, old, 401)
        assert _accepted_with(fed, new, 200)
    finally:
        publish(old, keep_old_key=False)  # leave the federation as the fixture made it
        assert _accepted_with(fed, old, 200)


def test_an_answer_whose_audit_entry_cannot_be_written_is_not_released(seeded: Seeded) -> None:
    # DESIGN "Audit": no release without its audit entry. The GP's database refuses
    # audit rows for a moment; the share must fail closed with a problem answer.
    fed = seeded.fed
    token = fed.consent_token(
        requester="council",
        subject_id=SUBJECT,
        purpose=PURPOSE,
        provisions=[provision("cns_audit", ["physical_health"])],
    )
    with fed.session("gp") as session:
        session.exec(  # type: ignore[call-overload]
            sa.text(
                "CREATE TRIGGER refuse_audit BEFORE INSERT ON audit_entry "
                "BEGIN SELECT RAISE(ABORT, 'audit log unavailable'); END"
            )
        )
        session.commit()
    try:
        request_id, response = ask(fed, "gp", share_body(fed, consent_token=token))
    finally:
        with fed.session("gp") as session:
            session.exec(sa.text("DROP TRIGGER refuse_audit"))  # type: ignore[call-overload]
            session.commit()
    assert response.status_code == 503, response.text
    assert "response" not in response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert audit_for(fed, "gp", request_id) == []
    # And the node answers the same request (a new id) normally again.
    request_id, response = ask(fed, "gp", share_body(fed, consent_token=token))
    assert opened(fed, "gp", request_id, response).decision.allow is True


def _with_deadline(fed: RunningFederation, request_id: str, deadline: float) -> str:
    """A consented share request from the council that stops waiting at ``deadline``."""
    return sign_request(
        ShareRequestBody.model_validate(_consented_body(fed)),
        keys=fed.keys["council"],
        issuer="council",
        audience="gp",
        request_id=request_id,
        deadline=deadline,
    )


def test_request_past_its_deadline_releases_nothing_and_audits_the_refusal(seeded: Seeded) -> None:
    fed = seeded.fed
    # The requester gave up five seconds ago.
    token = _with_deadline(fed, "late-1", time.time() - 5)
    response = fed.post("gp", "/federation/share", token)
    assert response.status_code == 401
    assert response.json()["type"].endswith("/request-expired")
    assert_nothing_released(fed, "late-1", response)
    [entry] = audit_for(fed, "gp", "late-1")
    assert (entry.kind, entry.decision, entry.categories) == ("share_decided", "deny", [])
    assert entry.reason == DEADLINE_PASSED_REASON


def test_request_within_its_deadline_is_answered(seeded: Seeded) -> None:
    fed = seeded.fed
    token = _with_deadline(fed, "timely-1", time.time() + 10)
    section = opened(fed, "gp", "timely-1", fed.post("gp", "/federation/share", token))
    assert section.decision.allow
    assert [e.decision for e in audit_for(fed, "gp", "timely-1")] == ["allow"]

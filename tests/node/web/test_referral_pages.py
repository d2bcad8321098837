"""The referral pages: refer form, "Referrals received", "Referrals sent", one referral.

One in-process council node in a prepared (not started) two-member federation, so
the registry, keys and policy are real; the refuge never runs, so what the council
sends stays in its outbox, where the test reads it. Incoming referrals are written
as the receiving endpoint would leave them (state ``received``) and then worked
through the pages: accept naming a worker, decline with a listed reason, ask for
information, complete with an outcome; each change must go through the state
machine, land in the timeline, queue a status message and be audited.
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from sqlmodel import Session, select

from joinedup.localfed import MemberSpec, prepare_federation
from node.audit.models import AuditEntry
from node.config import NodeSettings
from node.links.models import SubjectLink
from node.outbox.models import OutboxMessage
from node.records import service as records
from node.referrals.models import Referral, ReferralEvent
from tests.fixtures.auth import make_staff
from tests.node.web import conftest as web
from tests.node.web.conftest import csrf_from, in_process, sign_in, web_app

COUNCIL, REFUGE = "council-a", "refuge"
ROLES = ("frontline", "coordinator", "auditor", "admin")


@dataclass
class ReferNode:
    client: web.TestClient
    app: object
    person_id: int
    unlinked_id: int

    @property
    def engine(self):  # type: ignore[no-untyped-def]
        return self.app.state.engine  # type: ignore[attr-defined]

    def as_role(self, role: str) -> web.TestClient:
        sign_in(self.client, f"ref-{role}")
        return self.client


@pytest.fixture(scope="module")
def node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ReferNode]:
    root = tmp_path_factory.mktemp("refer-fed")
    prepared = prepare_federation(
        root,
        [
            MemberSpec(COUNCIL, "Council A", "council", 1),
            MemberSpec(REFUGE, "Safe Harbour Refuge", "charity", 2),
        ],
        consent_port=3,
    )
    env = prepared.node_env(COUNCIL)
    settings = NodeSettings(
        **{k.removeprefix("JOINEDUP_NODE_").lower(): v for k, v in env.items()},
        log_json=False,
    )
    app = web_app(settings)
    with in_process(app) as client:
        engine = app.state.engine
        for role in ROLES:
            make_staff(engine, role=role, username=f"ref-{role}")
        with Session(engine) as session:
            morgan = records.create_person(
                session=session,
                data={
                    "family_name": "Sample",
                    "given_name": "Morgan",
                    "date_of_birth": dt.date(1989, 1, 1),
                },
                linkage_key=None,
            )
            other = records.create_person(
                session=session,
                data={
                    "family_name": "Unlinked",
                    "given_name": "Uma",
                    "date_of_birth": dt.date(1990, 2, 2),
                },
                linkage_key=None,
            )
            assert morgan.id is not None
            assert other.id is not None
            session.add(SubjectLink(subject_id="subj_morgan", person_id=morgan.id))
            session.commit()
            ids = (morgan.id, other.id)
        yield ReferNode(client, app, *ids)


def form(**changes: str) -> dict[str, str]:
    values = {
        "to_org": REFUGE,
        "category": "victim_support",
        "purpose": "referral",
        "urgency": "urgent",
        "reason": "Morgan left an abusive partner and needs a refuge key worker.",
        "person_told": "Told Safe Harbour will call her this week.",
        "contact_preferences": "Mobile only, after 6pm",
    }
    values.update(changes)
    return values


def post_form(client: web.TestClient, path: str, data: dict[str, str]):  # type: ignore[no-untyped-def]
    token = csrf_from(client.get(path).text)
    return client.post(path, data={**data, "csrf_token": token}, follow_redirects=False)


def incoming(engine, *, state: str = "received", **fields: object) -> str:  # type: ignore[no-untyped-def]
    """An incoming referral as the receiving endpoint records it, with its first event."""
    rid = uuid.uuid4().hex
    now = dt.datetime.now(dt.UTC)
    values: dict[str, object] = {
        "id": rid,
        "direction": "incoming",
        "partner_org": REFUGE,
        "subject_id": "subj_morgan",
        "category": "housing",
        "purpose": "care_coordination",
        "urgency": "routine",
        "reason": "Needs rehousing near the children's school.",
        "person_told": "Told the council would be in touch.",
        "state": state,
        "created_by": REFUGE,
        "created_at": now,
        "updated_at": now,
        "respond_by": now + dt.timedelta(days=5),
    }
    values.update(fields)
    with Session(engine) as session:
        session.add(Referral(**values))
        session.add(
            ReferralEvent(referral_id=rid, at=now, from_state=None, to_state=state, actor=REFUGE)
        )
        session.commit()
    return rid


def referral(engine, rid: str) -> Referral:  # type: ignore[no-untyped-def]
    with Session(engine) as session:
        row = session.get(Referral, rid)
        assert row is not None
        return row


def messages_for(engine, key_prefix: str) -> list[OutboxMessage]:  # type: ignore[no-untyped-def]
    with Session(engine) as session:
        rows = session.exec(select(OutboxMessage)).all()
        return [m for m in rows if (m.idempotency_key or "").startswith(key_prefix)]


# -- the refer form ------------------------------------------------------------------


def test_the_refer_form_offers_partners_urgencies_in_words_and_the_needs_category(
    node: ReferNode,
) -> None:
    page = node.as_role("frontline").get(f"/ui/persons/{node.person_id}/refer?category=housing")
    assert page.status_code == 200
    html = page.text
    assert '<option value="refuge">Safe Harbour Refuge</option>' in html
    assert f'value="{COUNCIL}"' not in html  # never to itself
    assert "an answer within 5 working days" in html
    assert "an answer within 1 working day" in html
    assert "an answer within 4 hours" in html
    assert '<option value="housing" selected>' in html
    assert 'data-testid="refer-link"' in node.client.get(f"/ui/persons/{node.person_id}").text


def test_a_form_with_problems_is_refused_whole_and_names_each(node: ReferNode) -> None:
    client = node.as_role("frontline")
    bad = form(to_org="", category="", reason=" ", person_told="", contact_name="Morgan")
    answer = post_form(client, f"/ui/persons/{node.person_id}/refer", bad)
    assert answer.status_code == 422
    for words in (
        "Choose the organisation to refer to.",
        "Choose the need the referral is about.",
        "Say in plain words why you are referring the person.",
        "Say what the person has been told about this referral.",
        "Give both the person&#39;s name and how to contact them, or neither.",
    ):
        assert words in answer.text
    with Session(node.engine) as session:
        assert session.exec(select(Referral).where(Referral.direction == "outgoing")).all() == []


def test_an_emergency_referral_needs_a_justification(node: ReferNode) -> None:
    client = node.as_role("coordinator")
    answer = post_form(
        client,
        f"/ui/persons/{node.person_id}/refer",
        form(emergency_basis="safeguarding", justification="too short"),
    )
    assert answer.status_code == 422
    assert "Emergency access needs a written justification" in answer.text


def test_a_person_not_enrolled_cannot_be_referred(node: ReferNode) -> None:
    client = node.as_role("frontline")
    path = f"/ui/persons/{node.unlinked_id}/refer"
    assert 'data-testid="refer-not-enrolled"' in client.get(path).text
    token = csrf_from(client.get(f"/ui/persons/{node.person_id}/refer").text)
    answer = client.post(path, data={**form(), "csrf_token": token})
    assert answer.status_code == 422


def test_sending_records_the_referral_its_sealed_offer_and_its_audit_entry(
    node: ReferNode,
) -> None:
    client = node.as_role("frontline")
    details = form(contact_name="Morgan S", contact_how="07700 900123")
    answer = post_form(client, f"/ui/persons/{node.person_id}/refer", details)
    assert answer.status_code == 303
    target = answer.headers["location"]
    rid = target.split("/ui/referrals/")[1].split("?")[0]
    row = referral(node.engine, rid)
    assert (row.direction, row.partner_org, row.state, row.urgency) == (
        "outgoing",
        REFUGE,
        "sending",
        "urgent",
    )
    assert row.subject_id == "subj_morgan"
    assert row.created_by == "ref-frontline"
    [offer] = messages_for(node.engine, rid)
    assert offer.destination == REFUGE
    payload = json.dumps(offer.payload)
    assert "07700 900123" not in payload  # the contact details travel sealed only
    assert '"contact_sealed"' in payload
    with Session(node.engine) as session:
        audit = session.exec(select(AuditEntry).where(AuditEntry.request_id == rid)).all()
    assert [e.kind for e in audit] == ["referral_sent"]

    page = client.get(target)
    assert page.status_code == 200
    assert "The referral is recorded and on its way." in page.text
    assert "Victim support referral to Safe Harbour Refuge" in page.text
    assert 'data-state="sending"' in page.text
    assert page.text.count('data-testid="timeline-item"') == 1
    # Until the refuge acknowledges it, the sender may do nothing but wait.
    assert 'data-testid="referral-changes"' not in page.text

    sent = client.get("/ui/referrals/sent").text
    assert f'data-testid="referral-row-{rid}"' in sent
    assert "Morgan Sample" in sent


def test_a_referral_past_its_response_target_is_flagged_overdue(node: ReferNode) -> None:
    past = dt.datetime.now(dt.UTC) - dt.timedelta(hours=1)
    late = incoming(node.engine, respond_by=past)
    on_time = incoming(node.engine)
    html = node.as_role("coordinator").get("/ui/referrals").text
    late_row = html.split(f'data-testid="referral-row-{late}"')[1].split("</tr>")[0]
    on_time_row = html.split(f'data-testid="referral-row-{on_time}"')[1].split("</tr>")[0]
    assert 'data-testid="overdue"' in late_row
    assert 'data-testid="overdue"' not in on_time_row
    assert "Safe Harbour Refuge" in late_row  # who it is from, by name
    assert html.index(late) < html.index(on_time)  # soonest due first


# -- working an incoming referral ------------------------------------------------------


def change(client: web.TestClient, rid: str, **data: str):  # type: ignore[no-untyped-def]
    return post_form(client, f"/ui/referrals/{rid}", data)


def test_accept_names_a_worker_then_complete_with_an_outcome(node: ReferNode) -> None:
    rid = incoming(node.engine)
    client = node.as_role("coordinator")
    page = client.get(f"/ui/referrals/{rid}").text
    for state in ("accepted", "declined", "more_info_requested"):
        assert f'data-testid="change-{state}"' in page
    assert 'data-testid="change-completed"' not in page

    refused = change(client, rid, to_state="accepted", worker=" ")
    assert refused.status_code == 422
    assert "Name the worker who will take the referral." in refused.text
    assert referral(node.engine, rid).state == "received"

    assert change(client, rid, to_state="accepted", worker="Jo Key").status_code == 303
    row = referral(node.engine, rid)
    assert (row.state, row.assigned_worker) == ("accepted", "Jo Key")

    no_outcome = change(client, rid, to_state="completed", reason_code="made_up")
    assert no_outcome.status_code == 422
    assert "Choose the outcome of the referral." in no_outcome.text
    done = change(
        client, rid, to_state="completed", reason_code="need_met", note="Moved to a flat."
    )
    assert done.status_code == 303
    assert referral(node.engine, rid).state == "completed"

    page = client.get(f"/ui/referrals/{rid}").text
    assert page.count('data-testid="timeline-item"') == 3
    assert "The need was met" in page
    assert "Moved to a flat." in page
    assert 'data-testid="referral-changes"' not in page  # completed is final
    statuses = messages_for(node.engine, f"{rid}:")
    assert sorted(m.idempotency_key for m in statuses) == [f"{rid}:2", f"{rid}:3"]
    assert all(m.destination == REFUGE for m in statuses)
    with Session(node.engine) as session:
        kinds = session.exec(select(AuditEntry.kind).where(AuditEntry.request_id == rid)).all()
    assert list(kinds) == ["referral_status_sent", "referral_status_sent"]


def test_decline_needs_a_reason_from_the_list(node: ReferNode) -> None:
    rid = incoming(node.engine)
    client = node.as_role("frontline")
    refused = change(client, rid, to_state="declined", note="No.")
    assert refused.status_code == 422
    assert "Choose why you are declining the referral." in refused.text
    assert change(client, rid, to_state="declined", reason_code="no_capacity").status_code == 303
    assert referral(node.engine, rid).state == "declined"
    page = client.get(f"/ui/referrals/{rid}").text
    assert "The service has no capacity at the moment" in page


def test_asking_for_more_information_needs_the_question(node: ReferNode) -> None:
    rid = incoming(node.engine)
    client = node.as_role("frontline")
    assert change(client, rid, to_state="more_info_requested").status_code == 422
    asked = change(client, rid, to_state="more_info_requested", note="Which school?")
    assert asked.status_code == 303
    assert referral(node.engine, rid).state == "more_info_requested"


@pytest.mark.parametrize(
    ("state", "to_state"),
    [("received", "completed"), ("accepted", "accepted"), ("completed", "withdrawn")],
)
def test_a_change_the_state_machine_forbids_is_a_conflict_page(
    node: ReferNode, state: str, to_state: str
) -> None:
    rid = incoming(node.engine, state=state)
    answer = change(
        node.as_role("coordinator"), rid, to_state=to_state, worker="Jo", reason_code="need_met"
    )
    assert answer.status_code == 409
    assert "That conflicts with what is already recorded" in answer.text
    assert referral(node.engine, rid).state == state


def test_the_sender_of_a_referral_may_withdraw_it_but_not_accept_it(node: ReferNode) -> None:
    rid = incoming(node.engine, direction="outgoing", created_by="ref-frontline")
    client = node.as_role("frontline")
    page = client.get(f"/ui/referrals/{rid}").text
    assert 'data-testid="change-withdrawn"' in page
    assert 'data-testid="change-accepted"' not in page
    assert change(client, rid, to_state="accepted", worker="Jo").status_code == 409
    assert change(client, rid, to_state="withdrawn", note="Moved away").status_code == 303
    assert referral(node.engine, rid).state == "withdrawn"


@pytest.mark.parametrize("role", ["auditor", "admin"])
def test_only_record_staff_open_the_referral_pages(node: ReferNode, role: str) -> None:
    rid = incoming(node.engine)
    client = node.as_role(role)
    for path in (
        "/ui/referrals",
        "/ui/referrals/sent",
        f"/ui/referrals/{rid}",
        f"/ui/persons/{node.person_id}/refer",
    ):
        assert client.get(path).status_code == 403, path


def test_unknown_or_malformed_referrals_and_forged_forms_are_refused(node: ReferNode) -> None:
    client = node.as_role("coordinator")
    assert client.get(f"/ui/referrals/{uuid.uuid4().hex}").status_code == 404
    assert client.get("/ui/referrals/not-a-referral").status_code == 422
    rid = incoming(node.engine)
    forged = client.post(f"/ui/referrals/{rid}", data={"to_state": "declined"})
    assert forged.status_code == 403
    assert referral(node.engine, rid).state == "received"


def test_the_receiver_sees_the_contact_details_it_opened_and_the_sender_what_is_missing(
    node: ReferNode,
) -> None:
    details = '{"name":"Morgan S","how_to_contact":"07700 900123","preferences":"Texts only"}'
    opened = incoming(node.engine, subject_id=None, contact="received", contact_details=details)
    client = node.as_role("coordinator")
    page = client.get(f"/ui/referrals/{opened}").text
    contact = page.split('data-testid="referral-contact"')[1].split("</dl>")[0]
    for words in ("Morgan S", "07700 900123", "Texts only"):
        assert words in contact
    assert "Not known here yet" in page  # no person record here to link to

    needed = incoming(node.engine, direction="outgoing", contact="needed")
    page = client.get(f"/ui/referrals/{needed}").text
    assert 'data-testid="contact-needed"' in page
    assert "could not open contact details" in page


def test_a_referral_from_the_guide_starts_at_the_person_or_by_finding_them(
    node: ReferNode,
) -> None:
    client = node.as_role("frontline")
    start = "/ui/referrals/new?org=refuge&service=refuge-place&category=housing"
    page = client.get(start)
    assert page.status_code == 200
    assert "<strong>Safe Harbour Refuge</strong>" in page.text
    assert "<strong>Housing</strong>" in page.text
    answer = client.get(f"{start}&person={node.person_id}", follow_redirects=False)
    assert answer.status_code == 303
    form_page = client.get(answer.headers["location"]).text
    assert '<option value="refuge" selected>' in form_page
    assert '<option value="housing" selected>' in form_page
    assert client.get("/ui/referrals/new?person=0").status_code == 422

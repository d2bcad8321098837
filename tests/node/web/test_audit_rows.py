"""The auditor's table in words (issue 11 items 1, 6 and 14).

Emergency entries show their basis and written justification, on the page and in
both exports; raw tokens become labels (the entry as recorded stays one click away);
"Who is this?" names one of this organisation's staff and is itself audited; and a
tamper alarm is the first thing the page says, and what /health reports.
"""

from __future__ import annotations

import csv
import io
import json
import re

import pytest
import sqlalchemy as sa
from sqlmodel import Session, select

from appkit.labels import load_labels
from node.audit.exceptions import AuditSigningHalted
from node.audit.models import AuditEntry
from node.audit.service import record_audit, sign_tree_head_now
from node.auth.models import Staff
from node.auth.tokens import staff_pseudonym
from node.web.audit_rows import plain_reason
from tests.node.web.conftest import WebNode, csrf_from

WHY = "Found unconscious at home; the paramedics need his medication history now"
RAW_TOKENS = ("safeguarding_lead", "northdale-council=ok", "cns_8fK3wL0sYb2HdJ6e", "sub_Q2xZ9kR4")


@pytest.fixture(scope="module")
def logged(web_node: WebNode) -> WebNode:
    app = web_node.app
    keys = app.state.keys
    with Session(app.state.engine) as session:
        lead = session.exec(select(Staff).where(Staff.username == "web-coordinator")).one()
        lead.display_name = "Sam Patel"
        session.add(lead)
        session.flush()
        record_audit(
            session=session,
            kind="view_requested",
            request_id="view_emergency_1",
            actor_org="council-a",
            actor_staff=staff_pseudonym(lead.id, keys),
            actor_role="safeguarding_lead",
            subject_id="sub_Q2xZ9kR4tV7mN1pA",
            purpose="safeguarding",
            action="read",
            decision="allow",
            categories=["contact_details", "safety"],
            reason="requested all; consent no_consent; sources northdale-council=ok gp=denied",
            emergency=True,
            emergency_basis="vital_interests",
            justification=WHY,
        )
        record_audit(
            session=session,
            kind="share_decided",
            request_id="view_other_2",
            actor_org="police",
            actor_staff="5c0ffee1d2a3b4c5",
            actor_role="frontline",
            subject_id="sub_Q2xZ9kR4tV7mN1pA",
            purpose="care_coordination",
            decision="allow",
            categories=["housing"],
            reason="housing: consent cns_8fK3wL0sYb2HdJ6e permits it for care_coordination",
            holder_org="council-a",
        )
        sign_tree_head_now(session=session, keys=keys, org_id="council-a")
        session.commit()
    return web_node


def _row(html: str, seq: int) -> str:
    return html.split(f'data-testid="audit-entry-{seq}"', 1)[1].split("</tr>", 1)[0]


def _cells(html: str, seq: int) -> str:
    """The visible text of one row, without the "as recorded" disclosure."""
    row = _row(html, seq)
    row = re.sub(r"<details>.*?</details>", "", row, flags=re.S)
    row = re.sub(r'<input[^>]*type="hidden"[^>]*>', "", row)
    return re.sub(r"<[^>]+>", " ", row)


def _seq(web_node: WebNode, request_id: str) -> int:
    with Session(web_node.app.state.engine) as session:
        entry = session.exec(select(AuditEntry).where(AuditEntry.request_id == request_id)).one()
        return entry.seq


def test_an_emergency_entry_shows_its_basis_and_justification(logged: WebNode) -> None:
    client = logged.as_role("auditor")
    page = client.get("/ui/audit", params={"emergency": "yes"})
    assert page.status_code == 200
    seq = _seq(logged, "view_emergency_1")
    text = _cells(page.text, seq)
    assert "Emergency basis" in text
    assert "Vital interests" in text
    assert WHY in text


def test_both_web_exports_carry_the_basis_and_justification(logged: WebNode) -> None:
    client = logged.as_role("auditor")
    rows = list(
        csv.DictReader(
            io.StringIO(client.get("/ui/audit/export.csv", params={"emergency": "yes"}).text)
        )
    )
    assert [(r["emergency_basis"], r["justification"]) for r in rows] == [("vital_interests", WHY)]
    lines = client.get("/ui/audit/export.jsonl", params={"emergency": "yes"}).text.splitlines()
    assert [json.loads(line)["justification"] for line in lines] == [WHY]


def test_rows_read_in_labels_not_raw_tokens(logged: WebNode) -> None:
    client = logged.as_role("auditor")
    page = client.get("/ui/audit").text
    mine = _cells(page, _seq(logged, "view_emergency_1"))
    theirs = _cells(page, _seq(logged, "view_other_2"))
    for token in (*RAW_TOKENS, "no_consent", "5c0ffee1d2a3b4c5"):
        assert token not in mine
        assert token not in theirs
    assert "Safeguarding lead" in mine
    assert "no consent in force" in mine
    assert "A staff member of police" in theirs  # a partner's staff: not ours to resolve
    assert "a consent permits it" in theirs
    # The entry exactly as recorded is still there, behind "As recorded".
    assert "northdale-council=ok" in page


def test_plain_reason_names_organisations_and_statuses() -> None:
    names = {
        "northdale-council": "Northdale Council",
        "gp": "Elmwood Surgery",
        "consent": "Consent service",
    }
    text = plain_reason(
        "requested housing; consent no_consent; sources northdale-council=ok gp=denied",
        labels=load_labels(),
        names=names,
    )
    assert text == (
        "requested Housing; no consent in force; answers from Northdale Council: answered, "
        "Elmwood Surgery: declined by policy"
    )
    policy = plain_reason(
        "safety: released on the emergency path (safeguarding); emergency access on the "
        "basis of vital_interests by a safeguarding_lead",
        labels=load_labels(),
        names=names,
    )
    assert policy == (
        "Safety: released on the emergency path (safeguarding a child or adult at risk); "
        "emergency access on the basis of vital interests by a Safeguarding lead"
    )


def test_who_is_this_names_our_staff_member_and_is_audited(logged: WebNode) -> None:
    client = logged.as_role("auditor")
    page = client.get("/ui/audit")
    seq = _seq(logged, "view_emergency_1")
    pseudonym = re.search(r'name="pseudonym" value="([0-9a-f]{16})"', _row(page.text, seq))
    assert pseudonym is not None
    partner = _seq(logged, "view_other_2")
    assert 'name="pseudonym"' not in _row(page.text, partner)  # a partner's: not ours
    answer = client.post(
        "/ui/audit/who", data={"csrf_token": csrf_from(page.text), "pseudonym": pseudonym.group(1)}
    )
    assert answer.status_code == 200
    assert "That staff member is <strong>Sam Patel</strong>" in answer.text
    assert "Sam Patel" in _cells(answer.text, seq)
    stranger = client.post(
        "/ui/audit/who",
        data={"csrf_token": csrf_from(page.text), "pseudonym": "5c0ffee1d2a3b4c5"},
    )
    assert "No staff account of this organisation matches" in stranger.text
    with Session(logged.app.state.engine) as session:
        lookups = session.exec(select(AuditEntry).where(AuditEntry.kind == "staff_lookup")).all()
    assert [e.reason.endswith("matched a staff account") for e in lookups] == [True, False]
    assert all("Sam Patel" not in e.reason for e in lookups)  # the log keeps pseudonyms only


def test_who_is_this_needs_the_auditor_role_and_csrf(logged: WebNode) -> None:
    client = logged.as_role("auditor")
    assert client.post("/ui/audit/who", data={"pseudonym": "x"}).status_code == 403
    client = logged.as_role("coordinator")
    token = csrf_from(client.get("/ui/persons").text)
    refused = client.post("/ui/audit/who", data={"csrf_token": token, "pseudonym": "x"})
    assert refused.status_code == 403


def test_a_tamper_alarm_leads_the_page_and_health(logged: WebNode) -> None:
    client = logged.as_role("auditor")
    assert 'data-testid="audit-alarm"' not in client.get("/ui/audit").text
    assert client.get("/health").json()["status"] == "ok"
    # A new entry, edited in the transaction that appends it: no signed head can cover
    # it untampered (the background signer, if it gets there first, is guarded too).
    with Session(logged.app.state.engine) as session:
        tampered = record_audit(
            session=session,
            kind="share_decided",
            request_id="view_tampered_3",
            actor_org="police",
            actor_staff="5c0ffee1d2a3b4c5",
            actor_role="frontline",
            subject_id="sub_Q2xZ9kR4tV7mN1pA",
            purpose="care_coordination",
            decision="allow",
            categories=["housing"],
            reason="housing: consent cns_8fK3wL0sYb2HdJ6e permits it for care_coordination",
            holder_org="council-a",
        )
        session.flush()
        session.execute(
            sa.text("UPDATE audit_entry SET categories = '[\"mental_health\"]' WHERE seq = :s"),
            {"s": tampered.seq},
        )
        session.commit()
    last = tampered.seq - 1
    # The next head is asked for (as the background signer or a trace would), and refused.
    with Session(logged.app.state.engine) as session, pytest.raises(AuditSigningHalted):
        sign_tree_head_now(session=session, keys=logged.app.state.keys, org_id="council-a")
    page = client.get("/ui/audit")
    assert 'data-testid="audit-alarm"' in page.text
    assert f"entry {last + 1} onwards" in page.text
    health = client.get("/health").json()
    assert health["status"] == "audit_alarm"
    assert f"from entry {last + 1}" in health["audit_alarm"]

"""The admin's outbox page: plain words, no message contents, retry of a given-up message."""

from __future__ import annotations

import pytest
from sqlmodel import Session, select

from appkit.outbox import enqueue
from node.audit.models import AuditEntry
from node.outbox.models import OutboxMessage
from tests.node.web.conftest import WebNode, csrf_from


@pytest.fixture(scope="module")
def queued(web_node: WebNode) -> dict[str, int]:
    """One message sent, one waiting, one given up; the app's worker is told nothing."""
    ids = {}
    with Session(web_node.app.state.engine) as session:
        for status in ("delivered", "pending", "dead"):
            row = enqueue(
                session=session,
                model=OutboxMessage,
                kind="customer_notice",
                destination="consent",
                payload={"notice": {"subject_id": "subj_secret_grace"}},
            )
            row.status = status
            row.attempts = 20 if status == "dead" else 1
            row.last_error = "the receiver could not be reached" if status != "delivered" else None
            session.add(row)
            session.flush()
            assert row.id is not None
            ids[status] = row.id
        session.commit()
    return ids


@pytest.mark.parametrize("role", ["frontline", "coordinator", "auditor", "analyst"])
def test_only_admins_open_the_outbox_page(web_node: WebNode, queued, role: str) -> None:
    assert web_node.as_role(role).get("/ui/outbox").status_code == 403


def test_the_outbox_page_says_what_is_waiting_sent_and_given_up(web_node: WebNode, queued) -> None:
    page = web_node.as_role("admin").get("/ui/outbox")
    assert page.status_code == 200
    html = page.text
    assert "Waiting to be sent</dt><dd>1" in html
    assert "Given up</dt><dd>1" in html
    assert "Notice to the person that their records were opened in an emergency" in html
    assert "the receiver could not be reached" in html
    assert html.count('data-testid="outbox-retry"') == 1  # only the given-up one
    assert "subj_secret_grace" not in html  # never the contents
    assert 'data-testid="nav-outbox"' in html


def test_an_admin_retries_a_given_up_message_and_it_is_audited(web_node: WebNode, queued) -> None:
    client = web_node.as_role("admin")
    token = csrf_from(client.get("/ui/outbox").text)
    answer = client.post(
        f"/ui/outbox/{queued['dead']}/retry", data={"csrf_token": token}, follow_redirects=False
    )
    assert answer.status_code == 303
    with Session(web_node.app.state.engine) as session:
        row = session.get(OutboxMessage, queued["dead"])
        assert row is not None
        assert row.status == "pending"  # due again (the worker may already have tried once)
        assert row.attempts <= 1
        entry = session.exec(select(AuditEntry).where(AuditEntry.action == "outbox_retry")).one()
    assert entry.kind == "admin_change"
    assert entry.actor_role == "admin"


def test_retrying_a_sent_or_unknown_message_is_a_not_found_page(web_node: WebNode, queued) -> None:
    client = web_node.as_role("admin")
    token = csrf_from(client.get("/ui/outbox").text)
    for message_id in (queued["delivered"], 999_999):
        answer = client.post(f"/ui/outbox/{message_id}/retry", data={"csrf_token": token})
        assert answer.status_code == 404
    assert client.post("/ui/outbox/0/retry", data={"csrf_token": token}).status_code == 422


def test_a_retry_without_the_form_token_is_refused(web_node: WebNode, queued) -> None:
    client = web_node.as_role("admin")
    assert client.post(f"/ui/outbox/{queued['dead']}/retry").status_code == 403

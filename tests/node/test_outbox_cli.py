"""``joinedup outbox list|retry`` on a node's and the consent service's databases."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlmodel import Session
from typer.testing import CliRunner

from appkit.outbox import enqueue
from consent.db import make_engine as consent_engine
from consent.db import upgrade_database as upgrade_consent
from consent.outbox.models import ConsentOutboxMessage
from joinedup.cli import app
from node.db import make_engine, upgrade_database
from node.outbox.models import OutboxMessage

runner = CliRunner()


def seed(url: str, model: type, *, consent: bool) -> dict[str, int]:
    engine = consent_engine(url) if consent else make_engine(url)
    (upgrade_consent if consent else upgrade_database)(engine)
    ids = {}
    try:
        with Session(engine) as session:
            for status in ("delivered", "dead"):
                row = enqueue(
                    session=session,
                    model=model,
                    kind="revocation_push",
                    destination="gp",
                    payload={"subject_id": "sub_secret"},
                )
                row.status, row.attempts, row.last_error = status, 20, "the receiver was not ready"
                session.add(row)
                session.flush()
                ids[status] = row.id
            session.commit()
    finally:
        engine.dispose()
    return ids


@pytest.mark.parametrize(
    ("which", "model", "db"),
    [
        ("node", OutboxMessage, "node.db"),
        ("consent", ConsentOutboxMessage, "consent.db"),
    ],
)
def test_list_shows_messages_without_contents_and_retry_makes_a_dead_one_due(
    tmp_path: Path, which: str, model: type, db: str
) -> None:
    ids = seed(f"sqlite:///{tmp_path}/{db}", model, consent=which == "consent")
    where = ["--app", which, "--data-dir", str(tmp_path)]
    listed = runner.invoke(app, ["outbox", "list", "--json", *where])
    assert listed.exit_code == 0, listed.output
    rows = [json.loads(line) for line in listed.output.splitlines()]
    assert [(r["id"], r["status"]) for r in rows] == [
        (ids["dead"], "dead"),
        (ids["delivered"], "delivered"),
    ]
    assert "sub_secret" not in listed.output

    retried = runner.invoke(app, ["outbox", "retry", "--all-dead", *where])
    assert retried.exit_code == 0, retried.output
    assert "1 message(s) will be sent again" in retried.output
    pending = runner.invoke(app, ["outbox", "list", "--status", "pending", "--json", *where])
    (row,) = [json.loads(line) for line in pending.output.splitlines()]
    assert (row["id"], row["attempts"]) == (ids["dead"], 0)

    sent_again = runner.invoke(app, ["outbox", "retry", str(ids["delivered"]), *where])
    assert sent_again.exit_code == 1  # a delivered message is not sent again


def test_a_bad_status_or_nothing_to_retry_is_a_usage_error(tmp_path: Path) -> None:
    where = ["--data-dir", str(tmp_path)]
    assert runner.invoke(app, ["outbox", "list", "--status", "lost", *where]).exit_code == 2
    assert runner.invoke(app, ["outbox", "retry", *where]).exit_code == 2

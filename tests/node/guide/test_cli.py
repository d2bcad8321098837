"""``joinedup guide …``: the same catalogue as the API, published and audited at each change."""

from __future__ import annotations

import json
from pathlib import Path

from sqlmodel import Session, select
from typer.testing import CliRunner

from federation.catalogue import CatalogueDocument
from federation.keys import MemberKeys
from joinedup.cli import app
from node.audit.models import AuditEntry
from node.db import make_engine
from node.guide.models import GuidePublication

runner = CliRunner()
SERVICE = {
    "id": "food-bank",
    "name": "Food bank",
    "categories": ["income"],
    "capacity": "open",
}


def test_add_update_remove_publish_a_new_signed_version_each_time(tmp_path: Path) -> None:
    where = ["--org-id", "council-a", "--data-dir", str(tmp_path)]
    service_file = tmp_path / "service.json"
    service_file.write_text(json.dumps(SERVICE))

    added = runner.invoke(app, ["guide", "add", str(service_file), *where])
    assert added.exit_code == 0, added.output
    assert "published catalogue version 1" in added.output
    updated = runner.invoke(
        app,
        ["guide", "update", "food-bank", "--capacity", "waiting_list", "--wait-days", "5"] + where,
    )
    assert updated.exit_code == 0, updated.output
    listed = runner.invoke(app, ["guide", "list", *where])
    assert "food-bank\twaiting_list (5 days)\tincome\tFood bank" in listed.output
    shown = runner.invoke(app, ["guide", "show", *where])
    assert shown.output.startswith('version 2, ETag "v2-')

    engine = make_engine(f"sqlite:///{tmp_path}/node.db")
    with Session(engine) as session:
        publication = session.get(GuidePublication, 1)
        assert publication is not None
        document = CatalogueDocument.model_validate(json.loads(publication.signed)["catalogue"])
        reasons = [e.reason for e in session.exec(select(AuditEntry)).all()]
    engine.dispose()
    assert document.services[0].capacity == "waiting_list"
    assert document.org_id == "council-a"
    # Signed with the node's own key (the one the registry will list).
    assert json.loads(publication.signed)["signature"].count(".") == 2
    assert MemberKeys.load_or_create(tmp_path).kid
    assert any("version 2 published: service food-bank changed" in r for r in reasons)

    removed = runner.invoke(app, ["guide", "remove", "food-bank", *where])
    assert removed.exit_code == 0
    assert runner.invoke(app, ["guide", "list", *where]).output == ""


def test_bad_input_is_one_line_and_a_non_zero_exit(tmp_path: Path) -> None:
    where = ["--org-id", "council-a", "--data-dir", str(tmp_path)]
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({**SERVICE, "capacity": "full"}))
    assert runner.invoke(app, ["guide", "add", str(bad), *where]).exit_code == 2
    missing = runner.invoke(app, ["guide", "remove", "nope", *where])
    assert missing.exit_code == 1
    assert "no service 'nope'" in missing.output
    wrong = runner.invoke(app, ["guide", "update", "nope", "--capacity", "full", *where])
    assert wrong.exit_code == 2

"""``joinedup audit verify / export / sign-head`` against a node's data directory."""

from __future__ import annotations

import json

import pytest
import sqlalchemy as sa
from sqlmodel import Session
from typer.testing import CliRunner

from federation.keys import MemberKeys
from joinedup.cli import app
from node.db import make_engine, upgrade_database
from tests.node.audit.conftest import ORG, append_entries


@pytest.fixture
def node_dir(tmp_path):
    url = f"sqlite:///{tmp_path / 'node.db'}"
    MemberKeys.load_or_create(tmp_path)
    engine = make_engine(url)
    upgrade_database(engine)
    with Session(engine) as session:
        append_entries(session, 6)
        session.commit()
    yield tmp_path, url, engine
    engine.dispose()


def invoke(*args: str):
    return CliRunner().invoke(app, ["audit", *args])


def test_verify_passes_then_names_the_first_bad_entry(node_dir) -> None:
    data_dir, url, engine = node_dir
    common = ["--org-id", ORG, "--data-dir", str(data_dir), "--database-url", url]
    signed = invoke("sign-head", *common)
    assert signed.exit_code == 0, signed.output
    assert "tree size 6" in signed.output
    ok = invoke("verify", *common)
    assert ok.exit_code == 0, ok.output
    assert "OK" in ok.output
    with engine.begin() as connection:
        connection.execute(sa.text("UPDATE audit_entry SET purpose = 'other' WHERE seq = 3"))
    bad = invoke("verify", *common, "--json")
    assert bad.exit_code == 1
    report = json.loads(bad.output)
    assert report["first_bad_index"] == 3
    assert report["ok"] is False


def test_verify_without_keys_refuses(tmp_path) -> None:
    result = invoke("verify", "--org-id", ORG, "--data-dir", str(tmp_path))
    assert result.exit_code == 2


def test_export_writes_filtered_jsonl_and_csv(node_dir, tmp_path) -> None:
    data_dir, url, _ = node_dir
    common = ["--org-id", ORG, "--data-dir", str(data_dir), "--database-url", url]
    out = tmp_path / "login.jsonl"
    result = invoke("export", *common, "--kind", "login", "--output", str(out))
    assert result.exit_code == 0, result.output
    lines = [json.loads(line) for line in out.read_text().splitlines()]
    assert [e["seq"] for e in lines] == [3]
    csv_result = invoke("export", *common, "--format", "csv")
    assert csv_result.exit_code == 0
    assert len(csv_result.output.strip().splitlines()) == 7
    assert invoke("export", *common, "--format", "xml").exit_code == 2

"""The auditor's pages: filtered, paginated log; CSV/JSONL exports; verify; tree head."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlmodel import Session
from typer.testing import CliRunner

from federation.merkle import canonical_entry_bytes
from joinedup.cli import app as cli_app
from node.audit.service import record_audit, sign_tree_head_now
from tests.fixtures.auth import TEST_PASSWORD
from tests.node.web.conftest import WebNode, csrf_from


@pytest.fixture(scope="module")
def audited(web_node: WebNode) -> WebNode:
    app = web_node.app
    with Session(app.state.engine) as session:
        for i in range(60):
            record_audit(
                session=session,
                kind="share_decided",
                request_id=f"view_{i:03d}",
                actor_org="gp-riverside" if i % 2 else "police-north",
                actor_staff=f"staff{i % 3}",
                actor_role="coordinator",
                subject_id="subj_grace" if i % 5 == 0 else "subj_other",
                purpose="safeguarding" if i % 4 == 0 else "care_coordination",
                action="read",
                decision="deny" if i % 3 == 0 else "allow",
                categories=["housing", "income"],
                reason='=HYPERLINK("http://evil")' if i == 7 else "agreement",
                emergency=i == 10,
            )
        sign_tree_head_now(session=session, keys=app.state.keys, org_id="council-a")
        session.commit()
    return web_node


def logged(node: WebNode) -> int:
    """Entries in the log: the 60 share decisions plus a login entry per sign-in."""
    with node.app.state.engine.connect() as connection:
        return int(connection.execute(sa.text("SELECT count(*) FROM audit_entry")).scalar_one())


def test_audit_page_shows_entries_newest_first_with_head(audited: WebNode) -> None:
    client = audited.as_role("auditor")
    page = client.get("/ui/audit")
    assert page.status_code == 200
    html = page.text
    assert f"{logged(audited)} entries" in html
    assert html.index('data-testid="audit-entry-59"') < html.index('data-testid="audit-entry-58"')
    assert 'data-testid="audit-entry-9"' not in html  # page size 50: seq 9 is on page 2
    assert "Entries covered</dt><dd>60" in html
    assert 'data-testid="audit-export-csv"' in html
    second = client.get("/ui/audit", params={"page": 2})
    assert 'data-testid="audit-entry-9"' in second.text


@pytest.mark.parametrize(
    ("params", "count"),
    [
        ({"subject": "subj_grace"}, 12),
        ({"decision": "deny"}, 20),
        ({"emergency": "yes"}, 1),
        ({"purpose": "safeguarding"}, 15),
        ({"actor_staff": "staff1"}, 20),
        ({"actor_org": "gp-riverside", "decision": "allow"}, 20),
        ({"since": "2000-01-01T00:00", "until": "2999-01-01T00:00", "kind": "share_decided"}, 60),
        ({"until": "2000-01-01T00:00"}, 0),
    ],
)
def test_filters_narrow_the_log(audited: WebNode, params: dict, count: int) -> None:
    client = audited.as_role("auditor")
    page = client.get("/ui/audit", params=params)
    assert page.status_code == 200
    word = "entry" if count == 1 else "entries"
    assert f"{count} {word}" in page.text


@pytest.mark.parametrize(
    "params",
    [
        {"since": "yesterday"},
        {"since": "2026-02-01T00:00", "until": "2026-01-01T00:00"},
        {"decision": "maybe"},
        {"purpose": "fun"},
        {"emergency": "perhaps"},
        {"page": "0"},
        {"page": "-1"},
        {"page": "x" * 300},
        {"kind": "\u0000"},
    ],
)
def test_bad_filters_re_render_with_422(audited: WebNode, params: dict) -> None:
    client = audited.as_role("auditor")
    page = client.get("/ui/audit", params=params)
    assert page.status_code == 422
    assert 'data-testid="error-summary"' in page.text


def test_csv_export_carries_the_filters_and_defuses_formulas(audited: WebNode) -> None:
    client = audited.as_role("auditor")
    response = client.get("/ui/audit/export.csv", params={"actor_org": "gp-riverside"})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert len(rows) == 30
    assert {r["actor_org"] for r in rows} == {"gp-riverside"}
    assert [int(r["seq"]) for r in rows] == sorted(int(r["seq"]) for r in rows)
    evil = next(r for r in rows if r["seq"] == "7")
    assert evil["reason"].startswith("'=")


def test_jsonl_export(audited: WebNode) -> None:
    client = audited.as_role("auditor")
    response = client.get("/ui/audit/export.jsonl", params={"emergency": "yes"})
    assert response.status_code == 200
    lines = [json.loads(line) for line in response.text.splitlines()]
    assert len(lines) == 1
    assert lines[0]["emergency"] is True
    assert lines[0]["categories"] == ["housing", "income"]


def test_unknown_export_format_is_404(audited: WebNode) -> None:
    client = audited.as_role("auditor")
    assert client.get("/ui/audit/export.xlsx").status_code == 404


def test_frontline_cannot_export_or_verify(audited: WebNode) -> None:
    client = audited.as_role("frontline")
    assert client.get("/ui/audit/export.csv").status_code == 403
    token = csrf_from(client.get("/ui/persons").text)
    assert client.post("/ui/audit/verify", data={"csrf_token": token}).status_code == 403


def test_verify_without_csrf_is_refused(audited: WebNode) -> None:
    client = audited.as_role("auditor")
    assert client.post("/ui/audit/verify", data={}).status_code == 403


def test_verify_reports_an_intact_log_then_the_first_tampered_entry(audited: WebNode) -> None:
    client = audited.as_role("auditor")
    token = csrf_from(client.get("/ui/audit").text)
    page = client.post("/ui/audit/verify", data={"csrf_token": token})
    assert page.status_code == 200
    assert 'data-testid="audit-verify-result" data-ok="true"' in page.text
    assert f"Intact: {logged(audited)} entries" in page.text

    with audited.app.state.engine.begin() as connection:
        connection.execute(sa.text("UPDATE audit_entry SET decision = 'allow' WHERE seq = 42"))
    page = client.post("/ui/audit/verify", data={"csrf_token": token})
    assert 'data-testid="audit-verify-result" data-ok="false"' in page.text
    assert "from entry 42 onwards" in page.text


@pytest.mark.parametrize("fmt", ["csv", "jsonl"])
def test_page_api_and_cli_exports_are_the_same_bytes(
    audited: WebNode, fmt: str, tmp_path: Path
) -> None:
    """One export (``node.audit.export``): the page, the API and the CLI agree byte for byte."""
    since = dt.datetime.now(dt.UTC).replace(microsecond=0) - dt.timedelta(days=1)
    until = since + dt.timedelta(days=2)
    web_range = {"since": since.isoformat(), "until": until.isoformat()}
    # A partner's entries only, so the sign-ins below (this node's) do not change the range.
    page = audited.as_role("auditor").get(
        f"/ui/audit/export.{fmt}", params={**web_range, "actor_org": "gp-riverside"}
    )
    token = audited.client.post(
        "/auth/token", data={"username": "web-auditor", "password": TEST_PASSWORD}
    ).json()["access_token"]
    api = audited.client.get(
        f"/audit/entries.{fmt}",
        params={**web_range, "actor_org": "gp-riverside"},
        headers={"Authorization": f"Bearer {token}"},
    )
    settings = audited.app.state.settings
    written = tmp_path / f"audit.{fmt}"
    cli = CliRunner().invoke(
        cli_app,
        [
            "audit", "export", "--format", fmt, "--output", str(written),
            "--org-id", settings.org_id, "--data-dir", str(settings.data_dir),
            "--since", since.strftime("%Y-%m-%dT%H:%M:%S"),
            "--until", until.strftime("%Y-%m-%dT%H:%M:%S"),
            "--actor-org", "gp-riverside",
        ],
    )  # fmt: skip
    assert page.status_code == 200
    assert api.status_code == 200
    assert cli.exit_code == 0, cli.output
    assert page.content == api.content == written.read_bytes()
    assert page.headers["content-type"] == api.headers["content-type"]
    lines = page.text.splitlines()
    assert len(lines) == 30 + (fmt == "csv")  # the 30 partner entries (+ the CSV header)
    if fmt == "jsonl":
        # Canonical entries: each line is the exact mapping its leaf hashes.
        first = json.loads(lines[0])
        assert canonical_entry_bytes(first).decode() == lines[0]

"""``joinedup consent ...`` drives the same service functions as the API."""

import json

from typer.testing import CliRunner

from joinedup.cli import app


def test_enrol_add_customer_grant_and_list(tmp_path, monkeypatch):
    monkeypatch.setenv("JOINEDUP_CONSENT_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("JOINEDUP_CONSENT_DEMO", "true")
    runner = CliRunner()
    token = "v1.nn." + "7f" * 32
    enrolled = runner.invoke(app, ["consent", "enrol", "--linkage-token", token])
    assert enrolled.exit_code == 0, enrolled.output
    subject_id = enrolled.output.strip()
    again = runner.invoke(app, ["consent", "enrol", "--linkage-token", token])
    assert again.output.strip() == subject_id

    added = runner.invoke(
        app,
        [
            "consent",
            "add-customer",
            "--subject-id",
            subject_id,
            "--username",
            "Grace",
            "--password-stdin",
        ],
        input="a long passphrase\n",
    )
    assert added.exit_code == 0, added.output
    granted = runner.invoke(
        app,
        [
            "consent",
            "grant",
            "--subject-id",
            subject_id,
            "--recipient",
            "council",
            "--category",
            "housing",
            "--category",
            "income",
        ],
    )
    assert granted.exit_code == 0, granted.output
    consent_id = granted.output.strip()
    listed = runner.invoke(app, ["consent", "list", "--subject-id", subject_id])
    rows = [json.loads(line) for line in listed.output.splitlines()]
    assert [r["id"] for r in rows] == [consent_id]
    assert rows[0]["provisions"][0]["categories"] == ["housing", "income"]


def test_cli_errors_exit_non_zero_without_a_traceback(tmp_path, monkeypatch):
    monkeypatch.setenv("JOINEDUP_CONSENT_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("JOINEDUP_CONSENT_DEMO", "true")
    runner = CliRunner()
    unknown = runner.invoke(
        app,
        [
            "consent",
            "grant",
            "--subject-id",
            "sub_nobody",
            "--recipient",
            "council",
            "--category",
            "housing",
        ],
    )
    assert unknown.exit_code == 1
    bad = runner.invoke(
        app,
        [
            "consent",
            "grant",
            "--subject-id",
            "sub_x",
            "--recipient",
            "council",
            "--category",
            "shoe_size",
        ],
    )
    assert bad.exit_code == 2

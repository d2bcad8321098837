"""`joinedup node add-staff` / `migrate`: a thin shell over the staff service."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlmodel import Session
from typer.testing import CliRunner

from federation.errors import NotAuthenticated
from joinedup.cli import app
from node.auth.service import authenticate_staff
from node.db import make_engine

runner = CliRunner()


def _args(tmp_path: Path) -> list[str]:
    return ["--org-id", "council-a", "--data-dir", str(tmp_path)]


def test_add_staff_creates_an_account_that_can_sign_in(tmp_path: Path) -> None:
    result = runner.invoke(
        app,
        ["node", "add-staff", "--username", "asha", "--role", "coordinator", *_args(tmp_path)],
        input="a long enough password\na long enough password\n",
    )
    assert result.exit_code == 0, result.output
    assert "created staff 1 (asha, coordinator)" in result.output
    assert "a long enough password" not in result.output
    engine = make_engine(f"sqlite:///{tmp_path}/node.db")
    try:
        with Session(engine) as session:
            staff = authenticate_staff(
                session=session, username="asha", password="a long enough password"
            )
            assert staff.role == "coordinator"
            with pytest.raises(NotAuthenticated):
                authenticate_staff(session=session, username="asha", password="something else")
    finally:
        engine.dispose()


@pytest.mark.parametrize(
    ("extra", "message"),
    [(["--role", "overlord"], "unknown role"), (["--role", "admin"], "at least 10")],
)
def test_add_staff_refuses_bad_input_with_a_message(
    tmp_path: Path, extra: list[str], message: str
) -> None:
    result = runner.invoke(
        app,
        ["node", "add-staff", "--username", "x", "--password-stdin", *extra, *_args(tmp_path)],
        input="short\n",
    )
    assert result.exit_code == 1
    assert message in result.output


def test_missing_settings_are_reported_not_raised(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("JOINEDUP_NODE_ORG_ID", raising=False)
    monkeypatch.delenv("JOINEDUP_NODE_DATA_DIR", raising=False)
    result = runner.invoke(app, ["node", "migrate"])
    assert result.exit_code == 2
    assert "invalid setting org_id" in result.output


def test_migrate_builds_the_schema(tmp_path: Path) -> None:
    result = runner.invoke(app, ["node", "migrate", *_args(tmp_path)])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "node.db").exists()

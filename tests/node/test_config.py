"""NodeSettings: defaults, environment prefix and the refusals an operator relies on."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from node.config import NodeSettings


def test_defaults_put_sqlite_in_the_data_dir(tmp_path: Path) -> None:
    settings = NodeSettings(org_id="council-a", data_dir=tmp_path)
    assert settings.effective_database_url == f"sqlite:///{tmp_path}/node.db"
    assert settings.staff_token_ttl_s == 900
    assert settings.linkage is None


def test_settings_are_read_from_prefixed_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("JOINEDUP_NODE_ORG_ID", "gp-b")
    monkeypatch.setenv("JOINEDUP_NODE_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("JOINEDUP_NODE_ORG_KIND", "gp")
    monkeypatch.setenv("JOINEDUP_NODE_MAX_BODY_BYTES", "2048")
    settings = NodeSettings()  # type: ignore[call-arg]
    assert (settings.org_id, settings.org_kind, settings.max_body_bytes) == ("gp-b", "gp", 2048)


def test_bare_postgres_url_is_pointed_at_psycopg3(tmp_path: Path) -> None:
    settings = NodeSettings(
        org_id="council-a", data_dir=tmp_path, database_url="postgresql://u@db:5432/node"
    )
    assert settings.effective_database_url == "postgresql+psycopg://u@db:5432/node"


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"org_id": "Council A"}, "org_id"),
        ({"org_kind": "bank"}, "org_kind"),
        ({"database_url": "mysql://x/y"}, "database_url"),
        ({"policy_engine": "opa"}, "opa_url"),
        ({"linkage_key": "changeme"}, "placeholder"),
        ({"linkage_key": "short"}, "placeholder"),
        ({"staff_token_ttl_s": 86_400}, "staff_token_ttl_s"),
    ],
)
def test_unsafe_or_malformed_settings_are_refused(
    tmp_path: Path, overrides: dict[str, object], message: str
) -> None:
    fields: dict[str, object] = {"org_id": "council-a", "data_dir": tmp_path, **overrides}
    with pytest.raises(ValidationError, match=message):
        NodeSettings(**fields)  # type: ignore[arg-type]


def test_demo_mode_accepts_a_placeholder_linkage_key(tmp_path: Path) -> None:
    settings = NodeSettings(org_id="council-a", data_dir=tmp_path, linkage_key="demo", demo=True)
    assert settings.linkage is not None
    assert settings.linkage.version == 1


def test_linkage_key_carries_its_version(tmp_path: Path) -> None:
    settings = NodeSettings(
        org_id="council-a",
        data_dir=tmp_path,
        linkage_key="a-real-shared-secret-of-32-bytes",
        linkage_key_version=3,
    )
    assert settings.linkage is not None
    assert settings.linkage.version == 3
    assert settings.linkage.secret == b"a-real-shared-secret-of-32-bytes"

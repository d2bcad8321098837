"""joinedup.localfed lays a federation out on disk once and reuses it after.

No process is started here: these check the keys, the linkage secret, the signed
registry and the environment each process gets.
"""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from federation.keys import MemberKeys
from federation.registry import load_registry
from joinedup.localfed import MemberSpec, prepare_federation

NODES = [
    MemberSpec("council", "Council", "council", 18801),
    MemberSpec("gp", "Surgery", "gp", 18802),
]


def test_prepare_writes_secret_files_readable_only_by_the_owner(tmp_path: Path) -> None:
    fed = prepare_federation(tmp_path, NODES, consent_port=18800)
    secrets = [
        tmp_path / "authority" / "authority.key",
        tmp_path / "linkage.key",
        tmp_path / "council" / "keys" / "signing.key",
    ]
    for path in secrets:
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path
    assert len(fed.linkage_secret.encode()) >= 16


def test_registry_lists_every_member_at_its_url_with_its_keys(tmp_path: Path) -> None:
    fed = prepare_federation(tmp_path, NODES, consent_port=18800)
    registry = load_registry(fed.registry_path, fed.authority_key.verify_key)
    assert [m.org_id for m in registry.members] == ["consent", "council", "gp"]
    assert registry.consent_service.base_url == "http://127.0.0.1:18800"
    gp = registry.member("gp")
    assert gp.base_url == "http://127.0.0.1:18802"
    assert gp.verify_keys == [MemberKeys.load_or_create(tmp_path / "gp").verify_key_b64]


def test_second_prepare_reuses_keys_and_registry_version(tmp_path: Path) -> None:
    first = prepare_federation(tmp_path, NODES, consent_port=18800)
    again = prepare_federation(tmp_path, NODES, consent_port=18800)
    assert again.registry_version == first.registry_version == 1
    assert again.linkage_secret == first.linkage_secret
    assert bytes(again.authority_key) == bytes(first.authority_key)
    assert again.keys["council"].verify_key_b64 == first.keys["council"].verify_key_b64


def test_moved_member_gets_a_newer_registry_version(tmp_path: Path) -> None:
    prepare_federation(tmp_path, NODES, consent_port=18800)
    moved = [NODES[0], MemberSpec("gp", "Surgery", "gp", 18812)]
    fed = prepare_federation(tmp_path, moved, consent_port=18800)
    assert fed.registry_version == 2
    registry = load_registry(fed.registry_path, fed.authority_key.verify_key)
    assert registry.member("gp").base_url == "http://127.0.0.1:18812"


def test_each_process_gets_its_settings(tmp_path: Path) -> None:
    fed = prepare_federation(tmp_path, NODES, consent_port=18800)
    node = fed.node_env("gp")
    assert node["JOINEDUP_NODE_ORG_ID"] == "gp"
    assert node["JOINEDUP_NODE_PORT"] == "18802"
    assert node["JOINEDUP_NODE_DATA_DIR"] == str(tmp_path.resolve() / "gp")
    assert node["JOINEDUP_NODE_LINKAGE_KEY"] == fed.linkage_secret
    assert node["JOINEDUP_NODE_AUTHORITY_VERIFY_KEY"] == fed.authority_verify_key_b64
    consent = fed.consent_env()
    assert consent["JOINEDUP_CONSENT_REGISTRY_PATH"] == str(fed.registry_path)
    assert fed.factory_for("consent") == "consent.main:create_app_from_env"
    assert fed.factory_for("gp") == "node.main:create_app_from_env"


def test_duplicate_org_ids_are_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="duplicate"):
        prepare_federation(tmp_path, [*NODES, NODES[0]], consent_port=18800)

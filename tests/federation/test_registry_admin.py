"""``joinedup keys`` / ``joinedup registry``: the authority's workflow end to end."""

from __future__ import annotations

import json
import stat
from pathlib import Path

from typer.testing import CliRunner

from federation.keys import MemberKeys, b64encode, load_retired_keys
from federation.registry import RegistryHolder
from federation.registry_admin import authority_verify_key_b64, load_authority_key
from joinedup.cli import app

runner = CliRunner()


def run(*args: str) -> str:
    result = runner.invoke(app, list(args))
    assert result.exit_code == 0, result.output
    return result.output


def test_registry_lifecycle_with_key_rotation(tmp_path: Path) -> None:
    authority, registry = tmp_path / "authority", tmp_path / "registry.json"
    gp_dir = tmp_path / "gp"

    run(
        "registry",
        "init",
        "--authority-dir",
        str(authority),
        "--federation",
        "riverside",
        "--out",
        str(registry),
    )
    key_file = authority / "authority.key"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    authority_key = authority_verify_key_b64(authority)

    shown = run("keys", "show", "--data-dir", str(gp_dir))
    keys = MemberKeys.load(gp_dir / "keys")
    assert keys.verify_key_b64 in shown
    assert keys.public_key_b64 in shown
    assert b64encode(bytes(keys.signing_key)) not in shown
    assert b64encode(bytes(keys.encryption_key)) not in shown

    run(
        "registry",
        "add-member",
        "--registry",
        str(registry),
        "--org-id",
        "gp",
        "--name",
        "Riverside GP",
        "--kind",
        "gp",
        "--base-url",
        "http://127.0.0.1:9001",
        "--data-dir",
        str(gp_dir),
    )
    # An edited, unsigned registry does not verify.
    unsigned = runner.invoke(
        app, ["registry", "verify", "--registry", str(registry), "--authority-key", authority_key]
    )
    assert unsigned.exit_code == 1
    assert "error" in unsigned.output

    run("registry", "sign", "--registry", str(registry), "--authority-dir", str(authority))
    verified = run(
        "registry", "verify", "--registry", str(registry), "--authority-key", authority_key
    )
    assert "version 2" in verified
    holder = RegistryHolder(registry, load_authority_key(authority).verify_key, check_interval_s=0)
    assert holder.current().verify_keys("gp")[0] == keys.verify_key

    run("keys", "rotate", "--data-dir", str(gp_dir))
    new_keys = MemberKeys.load(gp_dir / "keys")
    assert new_keys.kid != keys.kid
    assert [k.kid for k in load_retired_keys(gp_dir)] == [keys.kid]
    run(
        "registry",
        "add-member",
        "--registry",
        str(registry),
        "--org-id",
        "gp",
        "--name",
        "Riverside GP",
        "--kind",
        "gp",
        "--base-url",
        "http://127.0.0.1:9001",
        "--data-dir",
        str(gp_dir),
        "--keep-old-key",
    )
    run("registry", "sign", "--registry", str(registry), "--authority-dir", str(authority))
    stored = json.loads(registry.read_text())["registry"]
    assert stored["version"] == 3
    (gp,) = stored["members"]
    assert gp["verify_keys"] == [new_keys.verify_key_b64, keys.verify_key_b64]
    assert gp["encryption_key"] == new_keys.public_key_b64
    # The running holder picks up the newer version: both keys verify in the overlap.
    assert holder.current().version == 3
    assert holder.current().verify_keys("gp") == [new_keys.verify_key, keys.verify_key]


def test_verify_refuses_another_authority(tmp_path: Path) -> None:
    registry = tmp_path / "registry.json"
    run(
        "registry",
        "init",
        "--authority-dir",
        str(tmp_path / "a"),
        "--federation",
        "x",
        "--out",
        str(registry),
    )
    stranger = b64encode(bytes(MemberKeys.generate().verify_key))
    result = runner.invoke(
        app, ["registry", "verify", "--registry", str(registry), "--authority-key", stranger]
    )
    assert result.exit_code == 1


def test_init_refuses_to_overwrite(tmp_path: Path) -> None:
    registry = tmp_path / "registry.json"
    args = [
        "registry",
        "init",
        "--authority-dir",
        str(tmp_path / "a"),
        "--federation",
        "x",
        "--out",
        str(registry),
    ]
    run(*args)
    assert runner.invoke(app, args).exit_code == 1


def test_add_member_without_keys_fails_cleanly(tmp_path: Path) -> None:
    registry = tmp_path / "registry.json"
    run(
        "registry",
        "init",
        "--authority-dir",
        str(tmp_path / "a"),
        "--federation",
        "x",
        "--out",
        str(registry),
    )
    result = runner.invoke(
        app,
        [
            "registry",
            "add-member",
            "--registry",
            str(registry),
            "--org-id",
            "gp",
            "--name",
            "GP",
            "--kind",
            "gp",
            "--base-url",
            "http://x",
            "--data-dir",
            str(tmp_path / "nokeys"),
        ],
    )
    assert result.exit_code == 1


def test_remove_member_then_sign_drops_it(tmp_path: Path) -> None:
    authority, registry = tmp_path / "authority", tmp_path / "registry.json"
    run(
        "registry",
        "init",
        "--authority-dir",
        str(authority),
        "--federation",
        "r",
        "--out",
        str(registry),
    )
    for org in ("gp", "police"):
        run("keys", "show", "--data-dir", str(tmp_path / org))
        run(
            "registry",
            "add-member",
            "--registry",
            str(registry),
            "--org-id",
            org,
            "--name",
            org,
            "--kind",
            org,
            "--base-url",
            f"https://{org}.example",
            "--data-dir",
            str(tmp_path / org),
        )
    run("registry", "sign", "--registry", str(registry), "--authority-dir", str(authority))
    assert "removed member police" in run(
        "registry", "remove-member", "--registry", str(registry), "--org-id", "police"
    )
    # Unsigned until signed: a node reloading it now would keep its last good copy.
    assert json.loads(registry.read_text())["signature"] is None
    run("registry", "sign", "--registry", str(registry), "--authority-dir", str(authority))
    holder = RegistryHolder(registry, load_authority_key(authority).verify_key)
    assert [m.org_id for m in holder.current().members] == ["gp"]
    assert holder.current().version == 3
    missing = runner.invoke(
        app, ["registry", "remove-member", "--registry", str(registry), "--org-id", "police"]
    )
    assert missing.exit_code == 1
    assert "not in the registry" in missing.output

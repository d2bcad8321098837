"""Joining: ``joinedup node init`` writes a signed join request; ``registry add-member
--request`` checks it and refuses a bad signature, a duplicate org id and key reuse."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest
from typer.testing import CliRunner

from federation.errors import RegistryInvalid
from federation.join_request import make_join_request, verify_join_request
from federation.keys import MemberKeys
from federation.registry import RegistryHolder
from federation.registry_admin import load_authority_key
from joinedup.cli import app
from node.config import NodeSettings

runner = CliRunner()
PASSWORD = "a long admin passphrase"


def run(*args: str, stdin: str | None = None, code: int = 0) -> str:
    result = runner.invoke(app, list(args), input=stdin)
    assert result.exit_code == code, result.output
    return result.output


def init_args(data_dir: Path, org_id: str) -> list[str]:
    return [
        *("node", "init", "--data-dir", str(data_dir), "--org-id", org_id),
        *("--org-name", "Safe Harbour Refuge", "--org-kind", "charity"),
        *("--public-url", f"https://{org_id}.example"),
        *("--admin-username", "it.volunteer", "--admin-password-stdin"),
    ]


def init(tmp_path: Path, org_id: str) -> Path:
    data_dir = tmp_path / org_id
    run(*init_args(data_dir, org_id), stdin=PASSWORD + "\n")
    return data_dir


@pytest.fixture
def registry(tmp_path: Path) -> Path:
    path = tmp_path / "registry.json"
    authority = tmp_path / "authority"
    run(
        "registry",
        "init",
        "--authority-dir",
        str(authority),
        "--federation",
        "r",
        "--out",
        str(path),
    )
    return path


def add(registry: Path, request: Path, *extra: str, code: int = 0) -> str:
    return run(
        "registry",
        "add-member",
        "--registry",
        str(registry),
        "--request",
        str(request),
        *extra,
        code=code,
    )


def test_node_init_sets_up_everything_a_node_needs(tmp_path: Path) -> None:
    data_dir = init(tmp_path, "safe-harbour")
    for secret in ("keys/signing.key", "keys/encryption.key", "node.env"):
        assert stat.S_IMODE((data_dir / secret).stat().st_mode) == 0o600, secret
    # The node reads the config file it wrote.
    settings = NodeSettings(_env_file=data_dir / "node.env")
    assert (settings.org_id, settings.org_kind) == ("safe-harbour", "charity")
    assert settings.public_url == "https://safe-harbour.example"
    assert settings.data_dir == data_dir.resolve()
    # The first admin can sign in (the password check of the real service).
    from sqlmodel import Session

    from node.auth.service import authenticate_staff
    from node.db import make_engine

    engine = make_engine(settings.effective_database_url)
    with Session(engine) as session:
        assert (
            authenticate_staff(session=session, username="it.volunteer", password=PASSWORD).role
            == "admin"
        )
    engine.dispose()
    request = verify_join_request(json.loads((data_dir / "join-request.json").read_text()))
    assert request.org_id == "safe-harbour"
    assert request.verify_key == MemberKeys.load(data_dir / "keys").verify_key_b64
    # Run twice, it refuses rather than overwrite keys or config.
    assert "already set up" in run(*init_args(data_dir, "safe-harbour"), stdin=PASSWORD, code=1)


def test_node_init_refuses_a_bad_org_id_before_writing_anything(tmp_path: Path) -> None:
    output = run(*init_args(tmp_path / "x", "Not A Slug"), stdin=PASSWORD, code=2)
    assert "org_id" in output
    assert not (tmp_path / "x").exists()


def test_authority_adds_the_member_from_its_request(tmp_path: Path, registry: Path) -> None:
    data_dir = init(tmp_path, "safe-harbour")
    assert "member safe-harbour" in add(registry, data_dir / "join-request.json")
    run(
        "registry",
        "sign",
        "--registry",
        str(registry),
        "--authority-dir",
        str(tmp_path / "authority"),
    )
    holder = RegistryHolder(registry, load_authority_key(tmp_path / "authority").verify_key)
    member = holder.current().member("safe-harbour")
    assert member.base_url == "https://safe-harbour.example"
    assert member.kind == "charity"


def test_tampered_request_is_refused(tmp_path: Path, registry: Path) -> None:
    path = init(tmp_path, "safe-harbour") / "join-request.json"
    signed = json.loads(path.read_text())
    signed["request"]["base_url"] = "https://attacker.example"
    path.write_text(json.dumps(signed))
    output = add(registry, path, code=1)
    assert "differs from the signed one" in output or "does not verify" in output


def test_request_signed_with_another_key_is_refused() -> None:
    keys, other = MemberKeys.generate(), MemberKeys.generate()
    signed = make_join_request(
        keys=keys, org_id="refuge", name="R", kind="charity", base_url="https://r.example"
    )
    forged = make_join_request(
        keys=other, org_id="refuge", name="R", kind="charity", base_url="https://r.example"
    )
    signed["signature"] = forged["signature"]
    with pytest.raises(RegistryInvalid, match="signature does not verify"):
        verify_join_request(signed)


def test_duplicate_org_id_is_refused(tmp_path: Path, registry: Path) -> None:
    add(registry, init(tmp_path / "a", "safe-harbour") / "join-request.json")
    output = add(registry, init(tmp_path / "b", "safe-harbour") / "join-request.json", code=1)
    assert "'safe-harbour' is already a member" in output


def test_key_reuse_is_refused(tmp_path: Path, registry: Path) -> None:
    first = init(tmp_path, "safe-harbour")
    add(registry, first / "join-request.json")
    # Another org id, but the same keys (a copied data directory).
    keys = MemberKeys.load(first / "keys")
    copy = make_join_request(
        keys=keys, org_id="copycat", name="C", kind="charity", base_url="https://c.example"
    )
    path = tmp_path / "copy.json"
    path.write_text(json.dumps(copy))
    assert "already registered (to 'safe-harbour')" in add(registry, path, code=1)


def test_key_rotation_needs_the_old_keys_endorsement(tmp_path: Path, registry: Path) -> None:
    data_dir = init(tmp_path, "safe-harbour")
    add(registry, data_dir / "join-request.json")
    old = MemberKeys.load(data_dir / "keys")
    run("keys", "rotate", "--data-dir", str(data_dir))
    run("node", "join-request", "--config", str(data_dir / "node.env"))
    unendorsed = add(registry, data_dir / "join-request.json", "--rotate", code=1)
    assert "endorsed by a key the registry lists" in unendorsed
    run("node", "join-request", "--config", str(data_dir / "node.env"), "--after-rotation")
    add(registry, data_dir / "join-request.json", "--rotate")
    stored = json.loads(registry.read_text())["registry"]["members"][0]
    new = MemberKeys.load(data_dir / "keys")
    assert stored["verify_keys"] == [new.verify_key_b64, old.verify_key_b64]
    assert stored["encryption_key"] == new.public_key_b64
    run("registry", "drop-old-keys", "--registry", str(registry), "--org-id", "safe-harbour")
    stored = json.loads(registry.read_text())["registry"]["members"][0]
    assert stored["verify_keys"] == [new.verify_key_b64]

"""The built wheel carries the policy bundle: an installed node can allow a share.

Without the Rego, the policy data and the taxonomy inside the wheel, an installed
node would deny every share (no policies to compile) and fall back to a built-in
category list. This builds the wheel from a copy of the project (``pip wheel
--no-deps``, so nothing is written into the source tree), installs it into a fresh
venv in a temporary directory that sees the project's pinned dependencies but not
its source, and asks the embedded engine for a share decision there.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest

from node.policy.cases import load_cases

pytestmark = pytest.mark.packaging

REPO = Path(__file__).resolve().parents[1]
NOT_SHIPPED = (".git", ".venv", "tests", "bench", "docs", "deploy", "test-artifacts", "build")

# Runs inside the fresh venv: where everything came from, and one share decision.
PROBE = """
import json, sys
import node, policies
from federation.policy_bundle import policy_dir
from node.policy.engine import build_policy_engine
from federation.vocabulary import load_vocabulary

decision = build_policy_engine(engine="embedded").decide("share", json.loads(sys.argv[1]))
vocabulary = load_vocabulary()
print(json.dumps({
    "node": node.__file__,
    "policy_dir": str(policy_dir()),
    "allow": decision.allow,
    "categories": decision.categories,
    "reasons": decision.reasons,
    "taxonomy": vocabulary.source,
    "category_count": len(vocabulary.categories),
}))
"""


def _build_wheel(tmp_path: Path) -> Path:
    source = tmp_path / "source"
    shutil.copytree(
        REPO,
        source,
        ignore=shutil.ignore_patterns(*NOT_SHIPPED, "__pycache__", "*.egg-info", "*.db*"),
    )
    dist = tmp_path / "dist"
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "-w", str(dist), "."],
        cwd=source,
        check=True,
        capture_output=True,
        timeout=300,
    )
    [wheel] = dist.glob("joinedup-*.whl")
    return wheel


def _fresh_venv(tmp_path: Path, wheel: Path) -> Path:
    """A venv holding only the wheel, with the project venv's dependencies on its path."""
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    python = venv / "bin" / "python"
    site = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    # A path line in a .pth file is added as-is: the project venv's own .pth files
    # (among them the editable install pointing at the source tree) are not run.
    (Path(site) / "project_deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    subprocess.run(
        [sys.executable, "-m", "pip", "--python", str(python), "install", "--quiet"]
        + ["--no-deps", "--no-index", str(wheel)],
        check=True,
        capture_output=True,
        timeout=120,
    )
    return python


def test_an_installed_wheel_ships_the_policies_and_allows_a_share(tmp_path: Path) -> None:
    wheel = _build_wheel(tmp_path)
    names = set(zipfile.ZipFile(wheel).namelist())
    for shipped in (
        "policies/share/share.rego",
        "policies/share/data.json",
        "policies/act/act.rego",
        "policies/audit/audit.rego",
        "policies/aggregate/aggregate.rego",
        "policies/aggregate/data.json",
        "policies/evidence/questions.json",
        "policies/taxonomy/data.json",
        "policies/taxonomy/labels.json",
    ):
        assert shipped in names, shipped

    python = _fresh_venv(tmp_path, wheel)
    share_input = load_cases("share")[0].input
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "JOINEDUP"))}
    probe = subprocess.run(
        [str(python), "-c", PROBE, json.dumps(share_input)],
        cwd=tmp_path,
        env=env,
        check=True,
        capture_output=True,
        text=True,
        timeout=120,
    )
    found = json.loads(probe.stdout.splitlines()[-1])

    installed = str(tmp_path / "venv")
    assert found["node"].startswith(installed), found
    assert found["policy_dir"].startswith(installed), found
    assert found["allow"] is True, found["reasons"]
    assert found["categories"], found
    assert found["taxonomy"].startswith(installed), found
    assert found["category_count"] >= 10

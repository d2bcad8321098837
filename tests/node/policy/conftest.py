"""Fixtures for the policy engine tests: a private, editable copy of policies/.

Every test here runs once per embedded Rego implementation: the ``rego`` fixture
makes it the embedded engine's default for the test.
"""

import shutil
from pathlib import Path

import pytest

from node.policy import embedded
from node.policy.cases import load_cases
from node.policy.engine import DEFAULT_POLICY_DIR


@pytest.fixture(autouse=True, params=embedded.REGO_NAMES)
def rego(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """The Rego implementation the embedded engine uses in this test."""
    monkeypatch.setattr(embedded, "DEFAULT_REGO", request.param)
    return str(request.param)


@pytest.fixture
def policy_copy(tmp_path: Path) -> Path:
    """A copy of the repository's policies that a test may edit."""
    target = tmp_path / "policies"
    shutil.copytree(DEFAULT_POLICY_DIR, target)
    return target


@pytest.fixture
def share_input() -> dict:
    """The base share request: a council co-ordinator asks the GP, with consent."""
    return load_cases("share")[0].input

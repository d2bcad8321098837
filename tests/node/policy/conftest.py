"""Fixtures for the policy engine tests: a private, editable copy of policies/."""

import shutil
from pathlib import Path

import pytest

from node.policy.cases import load_cases
from node.policy.engine import DEFAULT_POLICY_DIR


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

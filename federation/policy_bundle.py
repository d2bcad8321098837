"""Where the policy bundle (Rego, policy data, taxonomy, labels) lives at run time.

Every component reads the same files: the node's policy engines, the records
taxonomy and the staff and customer pages. They ship inside the wheel as the
``policies`` package, so an installed node finds them through ``importlib.resources``
rather than a path relative to the source tree (which does not exist once installed,
and would make every share fail closed). A ``POLICY_DIR`` setting still wins where a
component takes one.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path


def policy_dir() -> Path:
    """The directory of the packaged policy bundle (``policies/`` in the repository)."""
    return Path(str(resources.files("policies")))

"""The view form reads its rules from the node's POLICY_DIR, not only the packaged bundle."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from federation.policy_bundle import policy_dir
from node.web.views import ViewRequestForm, validate_view_form


def test_the_emergency_justification_minimum_comes_from_policy_dir(tmp_path: Path) -> None:
    own = tmp_path / "policies"
    shutil.copytree(policy_dir(), own)
    share_data = own / "share" / "data.json"
    document = json.loads(share_data.read_text())
    document["emergency"]["min_justification_chars"] = 60
    share_data.write_text(json.dumps(document))
    basis = next(iter(document["emergency"]["bases"]))
    form = ViewRequestForm(
        purpose="care_coordination", emergency_basis=basis, justification="x" * 30
    )

    assert validate_view_form(form) == {}
    errors = validate_view_form(form, policy_dir=own)
    assert "at least 60 characters" in errors["justification"]

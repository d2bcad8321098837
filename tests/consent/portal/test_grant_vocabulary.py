"""The portal's grant form offers and accepts the consent service's own vocabulary."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

from consent.portal.consents import GrantForm, check_grant_form
from federation.policy_bundle import policy_dir
from federation.vocabulary import load_vocabulary

TODAY = dt.date(2026, 12, 1)


def _form() -> GrantForm:
    return GrantForm(
        recipients=["council"], categories=["transport"], purposes=["care_coordination"]
    )


def test_a_category_only_the_data_defines_is_accepted_by_the_form(tmp_path: Path) -> None:
    (tmp_path / "taxonomy").mkdir()
    document = json.loads((policy_dir() / "taxonomy" / "data.json").read_text())
    document["categories"]["transport"] = {
        "label": "Transport",
        "special": False,
        "existence_hidden": False,
    }
    (tmp_path / "taxonomy" / "data.json").write_text(json.dumps(document))
    orgs = frozenset({"council"})

    refused, _ = check_grant_form(_form(), orgs, TODAY, load_vocabulary())
    assert refused == {"categories": "Choose at least one kind of record."}
    accepted, _ = check_grant_form(_form(), orgs, TODAY, load_vocabulary(tmp_path))
    assert accepted == {}

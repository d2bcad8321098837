"""The category taxonomy is data: read from the policy bundle, with a fallback."""

from __future__ import annotations

import json
from pathlib import Path

from node.records.taxonomy import DEFAULT_CATEGORIES, load_taxonomy


def test_repository_taxonomy_has_the_agreed_categories() -> None:
    taxonomy = load_taxonomy()
    assert taxonomy.categories == frozenset(DEFAULT_CATEGORIES)
    assert taxonomy.source.endswith("data.json")


def test_a_policy_dir_can_define_its_own_categories(tmp_path: Path) -> None:
    (tmp_path / "taxonomy").mkdir()
    (tmp_path / "taxonomy" / "data.json").write_text(
        json.dumps({"categories": {"housing": {"label": "Housing"}, "pets": {"label": "Pets"}}})
    )
    taxonomy = load_taxonomy(tmp_path)
    assert taxonomy.categories == {"housing", "pets"}
    assert "pets" in taxonomy
    assert "income" not in taxonomy


def test_missing_or_broken_data_falls_back_to_the_built_in_list(tmp_path: Path) -> None:
    (tmp_path / "taxonomy").mkdir()
    (tmp_path / "taxonomy" / "data.json").write_text("{not json")
    taxonomy = load_taxonomy(tmp_path)
    assert taxonomy.source == "built-in"
    assert "criminal_justice" in taxonomy

"""Plain-language words for the portal, read from the policy bundle's data files.

Categories, purposes and actions are labelled in ``policies/taxonomy/data.json``
(the taxonomy the policies enforce); the customer's own phrasing ("your mental
health records") and status words are in ``policies/taxonomy/labels.json``. The
staff pages read the same files (``node/web/labels.py``; ``consent`` may not import
``node``, so this small loader is repeated rather than shared).
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from federation.policy_bundle import policy_dir as packaged_policy_dir

log = logging.getLogger("joinedup.consent.portal")


def _read(path: Path) -> dict[str, Any]:
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        log.warning("labels file %s missing or unreadable; showing raw ids", path.name)
        return {}
    return document if isinstance(document, dict) else {}


def _labels_of(section: Any) -> dict[str, str]:
    if not isinstance(section, dict):
        return {}
    return {
        str(k): str(v.get("label", k)) if isinstance(v, dict) else str(v)
        for k, v in section.items()
        if isinstance(v, dict | str)
    }


@dataclass(frozen=True)
class Labels:
    families: dict[str, dict[str, str]]
    descriptions: dict[str, str] = field(default_factory=dict)
    special_categories: frozenset[str] = field(default_factory=frozenset)
    texts: dict[str, str] = field(default_factory=dict)

    def word(self, family: str, key: object) -> str:
        text = str(key) if key is not None else ""
        return self.families.get(family, {}).get(text, text.replace("_", " "))

    def options(self, family: str) -> list[tuple[str, str]]:
        return list(self.families.get(family, {}).items())


@lru_cache(maxsize=4)
def load_labels(policy_dir: Path | None = None) -> Labels:
    """The labels under ``policy_dir`` (default: the packaged ``policies/``)."""
    base = policy_dir or packaged_policy_dir()
    taxonomy = _read(base / "taxonomy" / "data.json")
    extra = _read(base / "taxonomy" / "labels.json")
    families = {name: _labels_of(taxonomy.get(name)) for name in ("categories", "purposes")}
    families["actions"] = _labels_of(taxonomy.get("actions"))
    for name, section in extra.items():
        if isinstance(section, dict):
            families[name] = _labels_of(section)
    categories = taxonomy.get("categories")
    categories = categories if isinstance(categories, dict) else {}
    return Labels(
        families=families,
        descriptions={
            str(k): str(v.get("description", ""))
            for k, v in categories.items()
            if isinstance(v, dict)
        },
        special_categories=frozenset(
            k for k, v in categories.items() if isinstance(v, dict) and v.get("special")
        ),
        texts={k: v for k, v in extra.items() if isinstance(v, str) and not k.startswith("_")},
    )

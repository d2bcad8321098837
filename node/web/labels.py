"""Plain-language labels for the staff pages, read from the policy bundle's data.

Category, purpose, action, role and organisation-kind labels live with the
taxonomy the policies use (``policies/taxonomy/data.json``); the words only
people read (source statuses, need statuses, decisions, obligations) live beside it
in ``policies/taxonomy/labels.json``. Keeping them as data means a
data-protection officer can reword a page without a code change, and the pages
can never name a category the policies do not know. An unknown id is shown as
itself rather than hidden.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from federation.policy_bundle import policy_dir as packaged_policy_dir

log = logging.getLogger("joinedup.node.web")


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
    out: dict[str, str] = {}
    for key, value in section.items():
        if isinstance(value, dict):
            out[str(key)] = str(value.get("label", key))
        elif isinstance(value, str):
            out[str(key)] = value
    return out


@dataclass(frozen=True)
class Labels:
    """Every label family as ``{id: words}``; ``word(family, id)`` never fails."""

    families: dict[str, dict[str, str]]
    special_categories: frozenset[str] = field(default_factory=frozenset)
    texts: dict[str, str] = field(default_factory=dict)

    def word(self, family: str, key: object) -> str:
        text = str(key) if key is not None else ""
        return self.families.get(family, {}).get(text, text.replace("_", " "))

    def options(self, family: str) -> list[tuple[str, str]]:
        return list(self.families.get(family, {}).items())


@lru_cache(maxsize=8)
def load_labels(policy_dir: Path | None = None) -> Labels:
    """The labels under ``policy_dir`` (default: the packaged ``policies/``)."""
    base = policy_dir or packaged_policy_dir()
    taxonomy = _read(base / "taxonomy" / "data.json")
    extra = _read(base / "taxonomy" / "labels.json")
    share = _read(base / "share" / "data.json")
    families = {
        name: _labels_of(taxonomy.get(name))
        for name in ("categories", "purposes", "actions", "roles", "org_kinds")
    }
    emergency: Any = share.get("emergency")
    if not isinstance(emergency, dict):
        emergency = {}
    families["emergency_bases"] = _labels_of(emergency.get("bases"))
    for name, section in extra.items():
        if isinstance(section, dict):
            families[name] = _labels_of(section)
    categories: Any = taxonomy.get("categories")
    if not isinstance(categories, dict):
        categories = {}
    special = frozenset(
        cid for cid, spec in categories.items() if isinstance(spec, dict) and spec.get("special")
    )
    texts = {k: v for k, v in extra.items() if isinstance(v, str) and not k.startswith("_")}
    return Labels(families=families, special_categories=special, texts=texts)

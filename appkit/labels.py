"""Plain-language labels for both apps' pages, read from the policy bundle's data.

Category, purpose, action, role and organisation-kind labels live with the
taxonomy the policies use (``policies/taxonomy/data.json``, read through
``federation.vocabulary``, its one reader); the words only people
read (source statuses, need statuses, decisions, the customer's own phrasing such
as "your mental health records") live beside it in ``policies/taxonomy/labels.json``;
the emergency bases come from the share policy's data. Keeping them as data means a
data-protection officer can reword a page without a code change, and the pages can
never name a category the policies do not know. The staff pages and the customer
portal read them through this one loader, so both show the same words. An unknown
id is shown as itself (underscores as spaces) rather than hidden.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from federation.policy_bundle import policy_dir as packaged_policy_dir
from federation.vocabulary import VOCABULARY_FAMILIES, load_vocabulary

__all__ = ["Labels", "load_labels"]

log = logging.getLogger("joinedup.labels")


def _read(path: Path) -> dict[str, Any]:
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        log.warning("labels file %s missing or unreadable; showing raw ids", path.name)
        return {}
    return document if isinstance(document, dict) else {}


def _section(document: dict[str, Any], name: str) -> dict[str, Any]:
    section = document.get(name)
    return section if isinstance(section, dict) else {}


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
    """Every label family as ``{id: words}``; ``word(family, id)`` never fails."""

    families: dict[str, dict[str, str]]
    descriptions: dict[str, str] = field(default_factory=dict)
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
    vocabulary = load_vocabulary(policy_dir)
    extra = _read(base / "taxonomy" / "labels.json")
    share = _read(base / "share" / "data.json")
    families: dict[str, dict[str, str]] = {
        name: vocabulary.labels(name) for name in VOCABULARY_FAMILIES
    }
    families["emergency_bases"] = _labels_of(_section(share, "emergency").get("bases"))
    for name, section in extra.items():
        if isinstance(section, dict):
            families[name] = _labels_of(section)
    return Labels(
        families=families,
        descriptions={c: term.description for c, term in vocabulary.categories.items()},
        special_categories=vocabulary.special_categories,
        texts={k: v for k, v in extra.items() if isinstance(v, str) and not k.startswith("_")},
    )

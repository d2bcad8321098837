"""The need-category taxonomy, read as data from the policy bundle.

Categories are the unit of sharing policy (``policies/taxonomy/data.json``, the
``data.taxonomy`` document the Rego policies read), so the records API validates
``need.category`` against the same file rather than a list in code. The constant
below is only the fallback when no policy bundle is present (e.g. a bare install).
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from pathlib import Path

from federation.policy_bundle import policy_dir as packaged_policy_dir

log = logging.getLogger("joinedup.node.taxonomy")

DEFAULT_CATEGORIES: tuple[str, ...] = (
    "contact_details",
    "housing",
    "income",
    "social_care",
    "physical_health",
    "mental_health",
    "education",
    "safety",
    "victim_support",
    "criminal_justice",
)


@dataclass(frozen=True)
class Taxonomy:
    """The category ids a need may have, with their labels where known."""

    labels: dict[str, str]
    source: str

    @property
    def categories(self) -> frozenset[str]:
        return frozenset(self.labels)

    def __contains__(self, category: object) -> bool:
        return category in self.labels


def _from_file(path: Path) -> Taxonomy | None:
    try:
        document = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    for key in ("categories", "taxonomy"):
        entry = document.get(key) if isinstance(document, dict) else None
        if isinstance(entry, dict) and "categories" in entry:
            entry = entry["categories"]
        if isinstance(entry, dict) and entry:
            labels = {
                str(cid): str(spec.get("label", cid)) if isinstance(spec, dict) else str(cid)
                for cid, spec in entry.items()
            }
            return Taxonomy(labels, str(path))
        if isinstance(entry, list) and entry:
            return Taxonomy({str(cid): str(cid) for cid in entry}, str(path))
    return None


def load_taxonomy(policy_dir: Path | None = None) -> Taxonomy:
    """The taxonomy from ``policy_dir`` (or the packaged policies), else the default."""
    base = policy_dir or packaged_policy_dir()
    for candidate in (base / "taxonomy" / "data.json", base / "share" / "data.json"):
        taxonomy = _from_file(candidate)
        if taxonomy is not None:
            return taxonomy
    log.warning("no taxonomy data found under %s; using the built-in category list", base)
    return Taxonomy({cid: cid for cid in DEFAULT_CATEGORIES}, "built-in")

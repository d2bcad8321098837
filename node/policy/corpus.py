"""A generated corpus of share inputs, for checking that engines decide alike.

The policy cases (``cases.yaml``) are chosen by hand; this corpus is drawn at
random, with a fixed seed, from the vocabularies in the policy data (organisation
kinds, roles, purposes, categories, emergency bases), so it reaches combinations
nobody wrote a case for: unknown and hidden categories, wildcard and partial
consents, invalid tokens, other actions, emergency requests with and without a
justification, holders that hold some, none or an unstated set of categories.
Tests run it through every engine and require identical decisions
(tests/policies/test_parity.py).
"""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

from node.policy.engine import DEFAULT_POLICY_DIR


def share_corpus(
    size: int, *, seed: int = 19, policy_dir: Path | None = None
) -> list[dict[str, Any]]:
    """``size`` share inputs drawn from the vocabularies of ``policy_dir``."""
    root = policy_dir or DEFAULT_POLICY_DIR
    taxonomy = json.loads((root / "taxonomy" / "data.json").read_text(encoding="utf-8"))
    share = json.loads((root / "share" / "data.json").read_text(encoding="utf-8"))
    kinds = sorted(taxonomy["org_kinds"])
    roles = sorted(taxonomy["roles"]) + ["stranger"]
    purposes = sorted(taxonomy["purposes"])
    categories = sorted(taxonomy["categories"]) + ["not_a_category"]
    bases = sorted(share["emergency"]["bases"]) + ["curiosity"]
    rng = random.Random(seed)

    def some(values: list[str], most: int) -> list[str]:
        return rng.sample(values, rng.randint(0, min(most, len(values))))

    def provision(n: int, requester: str, purpose: str) -> dict[str, Any]:
        return {
            "consent_id": f"c-{n}",
            "purposes": [purpose] + some(purposes, 2) if rng.random() < 0.7 else some(purposes, 3),
            "recipients": [requester] if rng.random() < 0.7 else some(kinds, 2),
            "categories": ["*"] if rng.random() < 0.15 else some(categories, 4),
            "actions": ["read"] if rng.random() < 0.8 else some(["read", "refer"], 2),
        }

    agreements = [
        (holder, requester, agreement)
        for holder, by_requester in sorted(share["agreements"].items())
        for requester, listed in sorted(by_requester.items())
        for agreement in listed
    ]
    corpus = []
    for n in range(size):
        requester_kind, holder_kind = rng.choice(kinds), rng.choice(kinds)
        role, purpose, asked = rng.choice(roles), rng.choice(purposes), some(categories, 6)
        if rng.random() < 0.6:
            # Mostly near an agreement, so that something can be released.
            holder_kind, requester_kind, agreement = rng.choice(agreements)
            role, purpose = rng.choice(agreement["roles"]), rng.choice(agreement["purposes"])
            asked = sorted(set(asked) | set(some(agreement["categories"], 3)))
        emergency = None
        if rng.random() < 0.2:
            emergency = {
                "basis": rng.choice(bases),
                "justification": rng.choice(
                    ["", "too short", "Collapsed at home; needs medicines now"]
                ),
            }
        corpus.append(
            {
                "requester": {
                    "org_id": requester_kind,
                    "org_kind": requester_kind,
                    "role": role,
                    "staff": f"pseud_{n % 7}",
                },
                "holder": {"org_id": holder_kind, "org_kind": holder_kind},
                "purpose": purpose,
                "action": "read" if rng.random() < 0.9 else "refer",
                "subject_id": f"sub_{n:06d}",
                "requested_categories": asked,
                "consent": {
                    "valid": rng.random() < 0.85,
                    "provisions": [
                        provision(i, requester_kind, purpose) for i in range(rng.randint(0, 10))
                    ],
                },
                "emergency": emergency,
                # What the holder holds records of (None: it did not say).
                "held_categories": None if rng.random() < 0.1 else some(categories, 6),
            }
        )
    return corpus

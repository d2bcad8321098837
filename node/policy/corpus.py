"""Generated corpora of share and act inputs, for checking that engines decide alike.

The policy cases (``cases.yaml``) are chosen by hand; this corpus is drawn at
random, with a fixed seed, from the vocabularies in the policy data (organisation
kinds, roles, purposes, categories, emergency bases), so it reaches combinations
nobody wrote a case for: unknown and hidden categories, wildcard and partial
consents, invalid tokens, other actions, emergency requests with and without a
justification, holders that hold some, none or an unstated set of categories.
``act_corpus`` does the same for referrals and the other acts: every action,
urgency (and undefined ones), contact details attached or not, consent to pass
them on or not, emergency referrals on every basis, and malformed fields.
Tests run each through every engine and require identical decisions
(tests/policies/test_parity.py).
"""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

from federation.vocabulary import load_vocabulary
from node.policy.engine import DEFAULT_POLICY_DIR


def _data(root: Path, package: str) -> dict[str, Any]:
    document: dict[str, Any] = json.loads((root / package / "data.json").read_text("utf-8"))
    return document


def share_corpus(
    size: int, *, seed: int = 19, policy_dir: Path | None = None
) -> list[dict[str, Any]]:
    """``size`` share inputs drawn from the vocabularies of ``policy_dir``."""
    root = policy_dir or DEFAULT_POLICY_DIR
    vocabulary = load_vocabulary(root)
    share = _data(root, "share")
    kinds = sorted(vocabulary.org_kinds)
    roles = sorted(vocabulary.roles) + ["stranger"]
    purposes = sorted(vocabulary.purposes)
    categories = sorted(vocabulary.categories) + ["not_a_category"]
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


def act_corpus(
    size: int, *, seed: int = 23, policy_dir: Path | None = None
) -> list[dict[str, Any]]:
    """``size`` act inputs (mostly referrals) drawn from the vocabularies of ``policy_dir``."""
    root = policy_dir or DEFAULT_POLICY_DIR
    taxonomy = _data(root, "taxonomy")
    act = _data(root, "act")
    share = _data(root, "share")
    kinds = sorted(taxonomy["org_kinds"])
    roles = sorted(taxonomy["roles"])
    emergency_roles = [r for r in roles if taxonomy["roles"][r]["emergency_access"]]
    purposes = sorted(taxonomy["purposes"])
    categories = sorted(taxonomy["categories"])
    actions = sorted(act["actions"]) + ["delete_record"]
    urgencies = sorted(
        act.get("referral", {}).get("urgencies") or ["routine", "urgent", "emergency"]
    )
    bases = sorted(share["emergency"]["bases"]) + ["curiosity"]
    rng = random.Random(seed)

    def some(values: list[str], most: int) -> list[str]:
        return rng.sample(values, rng.randint(0, min(most, len(values))))

    agreements = [
        (holder, requester, agreement)
        for holder, by_requester in sorted(act["agreements"].items())
        for requester, listed in sorted(by_requester.items())
        for agreement in listed
    ]
    odd_urgencies: list[Any] = [None, "asap", 3]

    def provision(
        i: int, requester: str, purpose: str, category: str, action: str
    ) -> dict[str, Any]:
        roll = rng.random()
        if roll < 0.2:
            covered = ["*"]
        elif roll < 0.55:
            covered = sorted({category, "contact_details", *some(categories, 2)})
        elif roll < 0.8:
            covered = sorted({category, *some(categories, 2)})
        else:
            covered = some(categories, 3)
        return {
            "consent_id": f"c-{i}",
            "purposes": [purpose] if rng.random() < 0.8 else some(purposes, 2),
            "recipients": [requester] if rng.random() < 0.8 else some(kinds, 2),
            "categories": covered,
            "actions": [action] if rng.random() < 0.8 else some(["read", "refer"], 2),
        }

    corpus = []
    for n in range(size):
        holder_kind, requester_kind = rng.choice(kinds), rng.choice(kinds)
        action, purpose, category = (
            rng.choice(actions),
            rng.choice(purposes),
            rng.choice(categories),
        )
        if rng.random() < 0.7:
            # Mostly within an agreement, so that something can be allowed.
            holder_kind, requester_kind, agreement = rng.choice(agreements)
            action, purpose = rng.choice(agreement["actions"]), rng.choice(agreement["purposes"])
            category = rng.choice(agreement["categories"])
        requester = f"{requester_kind}-{n % 3}"
        consent_action = act["actions"].get(action, {}).get("consent_action", "refer")
        role, urgency, valid = rng.choice(roles), rng.choice(urgencies), rng.random() < 0.85
        if rng.random() < 0.1:
            urgency = rng.choice(odd_urgencies)
        emergency = None
        if rng.random() < 0.3:
            justifications = ["", "too short", "Collapsed at home; needs help now"]
            emergency = {
                "basis": rng.choice(bases),
                "justification": rng.choices(justifications, weights=[1, 1, 4])[0],
            }
            if rng.random() < 0.6:
                # Mostly a co-ordinator or safeguarding lead who cannot wait for consent.
                role, valid = rng.choice(emergency_roles), rng.random() < 0.3
                urgency = rng.choice(act["emergency"]["urgencies"])
        corpus.append(
            {
                "requester": {
                    "org_id": requester,
                    "org_kind": requester_kind,
                    "role": role,
                },
                "holder": {"org_id": f"{holder_kind}-x", "org_kind": holder_kind},
                "purpose": purpose,
                # An incoming referral may be about a person the receiver does not know.
                "subject_id": None if rng.random() < 0.3 else f"sub_{n:06d}",
                "consent": {
                    "valid": valid,
                    "provisions": [
                        provision(i, requester, purpose, category, consent_action)
                        for i in range(rng.randint(0, 3))
                    ],
                },
                "action": action,
                "category": category,
                "urgency": urgency,
                "contact_details": rng.random() < 0.5 if rng.random() < 0.95 else "yes",
                "emergency": emergency,
            }
        )
    return corpus

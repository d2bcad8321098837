"""The referral vocabulary from policy data: urgencies, decline reasons, outcomes.

One loader for ``policies/act/data.json`` (its ``referral`` key and the roles that
may ``refer``), so pages, the API, the service and the policy read the same lists;
adding an outcome is a data-only change. Response targets are working days
(Monday to Friday; bank holidays are not counted out) or hours.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from federation.policy_bundle import policy_dir


@dataclass(frozen=True)
class Urgency:
    code: str
    label: str
    working_days: int = 0
    hours: int = 0

    def respond_by(self, start: dt.datetime) -> dt.datetime:
        """When an answer is due for a referral sent at ``start``."""
        if self.hours:
            return start + dt.timedelta(hours=self.hours)
        due, left = start, self.working_days
        while left > 0:
            due += dt.timedelta(days=1)
            if due.weekday() < 5:
                left -= 1
        return due


@dataclass(frozen=True)
class ReferralVocabulary:
    urgencies: dict[str, Urgency]
    decline_reasons: dict[str, str]
    outcomes: dict[str, str]
    refer_roles: frozenset[str]


def _load(path: Path) -> ReferralVocabulary:
    data = json.loads(path.read_text(encoding="utf-8"))
    referral = data["referral"]
    urgencies = {
        code: Urgency(
            code=code,
            label=entry["label"],
            working_days=int(entry["response_target"].get("working_days", 0)),
            hours=int(entry["response_target"].get("hours", 0)),
        )
        for code, entry in referral["urgencies"].items()
    }
    return ReferralVocabulary(
        urgencies=urgencies,
        decline_reasons=dict(referral["decline_reasons"]),
        outcomes=dict(referral["outcomes"]),
        refer_roles=frozenset(data["actions"]["refer"]["roles"]),
    )


@lru_cache(maxsize=4)
def referral_vocabulary(directory: Path | None = None) -> ReferralVocabulary:
    """The vocabulary from ``directory``/act/data.json (the packaged policies by default)."""
    return _load((directory or policy_dir()) / "act" / "data.json")

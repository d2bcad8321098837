"""Consents in plain language: "Riverside GP may see your physical health records for
care co-ordination until 1 March 2027."

One sentence per provision (FHIR R4 ``Consent.provision``): who (organisation
names from the signed member registry), may do what (actions), with which records
(categories, in the customer's words from ``policies/taxonomy/labels.json``), why
(purposes), and until when (the consent's period). Lists are joined the way people
write them: "A, B and C".
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Any

from consent.notices.schemas import NoticePublic
from consent.portal.labels import Labels
from consent.portal.pages import long_date


def join_words(words: Sequence[str], last: str = "and") -> str:
    items = [w for w in words if w]
    if len(items) <= 1:
        return "".join(items)
    return f"{', '.join(items[:-1])} {last} {items[-1]}"


def org_name(org_id: str, names: Mapping[str, str]) -> str:
    return names.get(org_id, org_id)


def provision_sentence(
    provision: Mapping[str, Any],
    *,
    period_end: dt.datetime | str | None,
    names: Mapping[str, str],
    labels: Labels,
) -> str:
    """One provision as one sentence."""
    who = join_words([org_name(o, names) for o in provision.get("recipients", [])])
    actions = join_words([labels.word("customer_actions", a) for a in provision.get("actions", [])])
    records = join_words(
        [labels.word("customer_categories", c) for c in provision.get("categories", [])]
    )
    purposes = join_words(
        [labels.word("customer_purposes", p) for p in provision.get("purposes", [])], "or"
    )
    until = f"until {long_date(period_end)}" if period_end else "until you revoke it"
    return f"{who} may {actions} {records} for {purposes} {until}."


def consent_sentences(
    consent: Mapping[str, Any], *, names: Mapping[str, str], labels: Labels
) -> list[str]:
    """Every provision of a consent (a ``ConsentPublic`` dump or a history snapshot)."""
    return [
        provision_sentence(p, period_end=consent.get("period_end"), names=names, labels=labels)
        for p in consent.get("provisions", []) or []
        if isinstance(p, Mapping)
    ]


EMERGENCY_BASES = {
    "vital_interests": "because your life or health was thought to be at risk",
    "safeguarding": "to protect you or someone at risk (safeguarding)",
}


def notice_sentence(
    notice: NoticePublic, *, names: Mapping[str, str], labels: Labels
) -> dict[str, str]:
    """An emergency-access notice as one plain sentence, with its id and date."""
    who = org_name(notice.from_org, names)
    # Category labels read "your housing records"; the sender holding some is "itself".
    others = [org_name(o, names) for o in notice.holders if o != notice.from_org]
    if notice.from_org in notice.holders:
        others.append("itself")
    records = join_words([labels.word("customer_categories", c) for c in notice.categories])
    why = EMERGENCY_BASES.get(notice.basis, f"on the basis of {notice.basis.replace('_', ' ')}")
    what = f"{records or 'your records'} held by {join_words(others)}"
    return {
        "id": notice.id,
        "when": long_date(notice.occurred_at),
        "sentence": f"{who} saw {what} without asking your consent, {why}.",
    }

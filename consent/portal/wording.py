"""Consents in plain language: "Riverside GP may see your physical health records for
care co-ordination until 1 March 2027."

One sentence per provision (FHIR R4 ``Consent.provision``): who (organisation
names from the signed member registry), may do what (actions), with which records
(categories, in the customer's words from ``policies/taxonomy/labels.json``), why
(purposes), and until when (the consent's period). Lists are joined the way people
write them: "A, B and C". A revoked consent reads in the past tense with its date
("... could see ... until you revoked it on 3 December 2026."), and so does one whose
period is over, so that nothing ended reads as live.

An emergency-access notice becomes a short list rather than one long sentence: who
looked and when (London time), why (the emergency basis in plain words), and one
line per organisation that released something, the sender's own records as its own.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from appkit.labels import Labels
from consent.notices.schemas import NoticePublic
from consent.portal.pages import as_moment, long_date, when


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
    revoked_at: dt.datetime | None = None,
    now: dt.datetime | None = None,
) -> str:
    """One provision as one sentence, in the past tense once revoked or ended."""
    who = join_words([org_name(o, names) for o in provision.get("recipients", [])])
    actions = join_words([labels.word("customer_actions", a) for a in provision.get("actions", [])])
    records = join_words(
        [labels.word("customer_categories", c) for c in provision.get("categories", [])]
    )
    purposes = join_words(
        [labels.word("customer_purposes", p) for p in provision.get("purposes", [])], "or"
    )
    if revoked_at is not None:
        return (
            f"{who} could {actions} {records} for {purposes} "
            f"until you revoked it on {long_date(revoked_at)}."
        )
    end = as_moment(period_end)
    if isinstance(end, dt.datetime) and has_ended(end, now):
        return f"{who} could {actions} {records} for {purposes} until {long_date(end)}."
    until = f"until {long_date(period_end)}" if period_end else "until you revoke it"
    return f"{who} may {actions} {records} for {purposes} {until}."


def has_ended(period_end: dt.datetime | None, now: dt.datetime | None = None) -> bool:
    """True once a consent's period is over (a naive time is UTC, as stored)."""
    if period_end is None:
        return False
    end = period_end if period_end.tzinfo else period_end.replace(tzinfo=dt.UTC)
    return end <= (now or dt.datetime.now(dt.UTC))


def consent_sentences(
    consent: Mapping[str, Any],
    *,
    names: Mapping[str, str],
    labels: Labels,
    revoked_at: dt.datetime | None = None,
    now: dt.datetime | None = None,
) -> list[str]:
    """Every provision of a consent (a ``ConsentPublic`` dump or a history snapshot)."""
    return [
        provision_sentence(
            p,
            period_end=consent.get("period_end"),
            names=names,
            labels=labels,
            revoked_at=revoked_at,
            now=now,
        )
        for p in consent.get("provisions", []) or []
        if isinstance(p, Mapping)
    ]


# The emergency bases of the share policy, as the reason the person is given.
EMERGENCY_BASES = {
    "vital_interests": "your life or health was thought to be at risk (vital interests)",
    "safeguarding": "to protect you or someone else from harm (safeguarding)",
}


@dataclass(frozen=True)
class NoticeSummary:
    """An emergency-access notice as the portal lists it: who, when, why, what from whom."""

    id: str
    who: str
    when: str
    why: str
    released: list[str]


def notice_summary(
    notice: NoticePublic, *, names: Mapping[str, str], labels: Labels
) -> NoticeSummary:
    """Who looked, when, on which emergency basis, and a line per organisation released from."""
    who = org_name(notice.from_org, names)

    def records(categories: Sequence[str]) -> str:
        words = [labels.word("customer_categories", c) for c in categories]
        return join_words(words) or "nothing"

    def source(org: str) -> str:
        # The sender's own records read as such, never "held by ... and itself".
        return (
            f"From {who}'s own records"
            if org == notice.from_org
            else f"From {org_name(org, names)}"
        )

    if notice.released:
        holders = sorted(notice.released, key=lambda o: (o != notice.from_org, org_name(o, names)))
        released = [f"{source(o)}: {records(notice.released[o])}" for o in holders]
    else:
        # Sent before notices said what came from whom: say it for them all at once.
        sources = join_words([org_name(o, names) for o in notice.holders])
        released = [f"From {sources}: {records(notice.categories)}"]
    basis = EMERGENCY_BASES.get(notice.basis, f"an emergency ({notice.basis.replace('_', ' ')})")
    return NoticeSummary(
        id=notice.id,
        who=who,
        when=when(notice.occurred_at),
        why=basis[0].upper() + basis[1:],
        released=released,
    )

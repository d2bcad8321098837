"""How an audit entry reads on the auditor's page: labels, not the tokens it stores.

An entry keeps ids (``safeguarding_lead``, ``northdale-council=ok``, ``cns_...``,
hex staff pseudonyms, ``sub_...``) because ids are what can be verified and
traced. An auditor reads words: organisation names from the member registry, labels
for roles, purposes, categories, bases and statuses from the policy bundle's label
files, "a consent" for a consent id, "a staff member" for a pseudonym. The page
shows the plain sentence and keeps the entry exactly as recorded one click away
(and in the exports), so nothing is hidden by the rewording.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from appkit.labels import Labels
from node.audit.models import AuditEntry

__all__ = ["AuditRow", "audit_rows", "plain_reason"]

_CONSENT_ID = re.compile(r"\bcns_[A-Za-z0-9_-]+")
_SUBJECT_ID = re.compile(r"\bsub_[A-Za-z0-9_-]+")
_PSEUDONYM = re.compile(r"\b[0-9a-f]{16}\b")
_SOURCE = re.compile(r"\b([a-z0-9][a-z0-9-]*)=([a-z_]+)\b")
_WORD = re.compile(r"\b[a-z][a-z0-9]*(?:[_-][a-z0-9]+)+\b|\b[a-z]+\b")
# Families whose ids may appear inside a reason, most specific first.
_FAMILIES = ("categories", "purposes", "roles", "emergency_bases", "consent_status")
_SOURCES_PART = re.compile(r"sources ((?:[a-z0-9-]+=[a-z_]+ ?)+)")
_DONE = "\x00"  # no stored reason holds a NUL (PostgreSQL refuses one)
# Where a reason names an emergency basis (share policy wording), not a purpose.
_BASIS = re.compile(r"(basis of |emergency path \()([a-z_]+)")


@dataclass(frozen=True)
class AuditRow:
    """One entry as the auditor's table shows it."""

    seq: int
    recorded_at: dt.datetime
    kind: str
    what: str
    emergency: bool
    basis: str
    justification: str
    org: str
    staff: str
    pseudonym: str | None  # this organisation's staff only: the "who is this" form
    role: str
    subject_id: str | None
    purpose: str
    decision: str
    decision_label: str
    categories: list[str]
    reason: str
    recorded: str  # the reason exactly as stored


def plain_reason(text: str, *, labels: Labels, names: Mapping[str, str]) -> str:
    """The stored reason with ids replaced by the words an auditor reads."""

    def sources(match: re.Match[str]) -> str:
        pairs = [p.split("=", 1) for p in match.group(1).split()]
        said = [f"{names.get(o, o)}: {labels.word('source_status', s).lower()}" for o, s in pairs]
        return _DONE + "answers from " + ", ".join(said) + _DONE

    text = _SOURCES_PART.sub(sources, text)
    bases = labels.families.get("emergency_bases", {})
    text = _BASIS.sub(
        lambda m: (
            m.group(1) + _DONE + _short(bases[m.group(2)]) + _DONE
            if m.group(2) in bases
            else m.group(0)
        ),
        text,
    )
    text = _CONSENT_ID.sub("a consent", text)
    text = _SUBJECT_ID.sub("the person", text)
    text = _PSEUDONYM.sub("a staff member", text)
    text = text.replace("consent no_consent", "no consent in force")

    def word(match: re.Match[str]) -> str:
        token = match.group(0)
        if "-" in token and token in names:  # an org id like "consent" is also a word
            return names[token]
        for family in _FAMILIES:
            known = labels.families.get(family, {})
            if token in known:
                return known[token] if family != "emergency_bases" else _short(known[token])
        return token.replace("_", " ") if "_" in token else token

    # Words already put in plain language (between _DONE marks) are not read again.
    parts = text.split(_DONE)
    return "".join(p if i % 2 else _WORD.sub(word, p) for i, p in enumerate(parts))


def _short(label: str) -> str:
    """'Vital interests: life or ...' reads as 'vital interests' inside a sentence."""
    return label.split(":", 1)[0].lower()


def audit_rows(
    entries: Iterable[AuditEntry],
    *,
    labels: Labels,
    names: Mapping[str, str],
    own_org: str,
    resolved: Mapping[str, str],
) -> list[AuditRow]:
    """The table rows; ``resolved`` maps pseudonyms the auditor looked up to names."""
    rows = []
    for e in entries:
        org = names.get(e.actor_org, e.actor_org)
        own = e.actor_org == own_org
        if e.actor_staff is None:
            staff = ""
        elif e.actor_staff in resolved:
            staff = resolved[e.actor_staff]
        else:
            staff = "A staff member" if own else f"A staff member of {org}"
        rows.append(
            AuditRow(
                seq=e.seq,
                recorded_at=e.recorded_at,
                kind=e.kind,
                what=labels.word("audit_kinds", e.kind),
                emergency=e.emergency,
                basis=labels.word("emergency_bases", e.emergency_basis)
                if e.emergency_basis
                else "",
                justification=e.justification or "",
                org=org,
                staff=staff,
                pseudonym=e.actor_staff if own and e.actor_staff not in resolved else None,
                role=labels.word("roles", e.actor_role) if e.actor_role else "",
                subject_id=e.subject_id,
                purpose=labels.word("purposes", e.purpose) if e.purpose else "",
                decision=e.decision,
                decision_label=labels.word("decision", e.decision),
                categories=[labels.word("categories", c) for c in e.categories],
                reason=plain_reason(e.reason, labels=labels, names=names),
                recorded=e.reason,
            )
        )
    return rows

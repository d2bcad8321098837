"""Assembly of a joined-up view from the partners' opened answers.

DESIGN "Federation protocol → Assembly": the view merges needs, active actions,
contacts and the co-ordinator across organisations, marks what was withheld and why
(only where the holding partner chose to reveal that something exists), and
highlights needs that interact.

What was not released comes in two kinds that must not be mixed up: a category a
partner holds records in but did not release (``withheld``: the partner says so only
where its policy allows, and only for what it holds), and categories no agreement
covers for this request (``not_covered``: one summary per organisation, saying
nothing about what it holds). Contacts come only from organisations that released
at least one need, once each: a contact at an organisation that released nothing
else would itself reveal the relationship (a school's safeguarding lead names the
children's school). It is returned to the staff member and never
stored, so nothing here touches a database.

Trust rules, because each partner's answer is only as good as its checks:

- content is taken only from sources the fan-out marked ``ok`` (signature, seal,
  issuer, request id and subject all verified);
- every opened answer must be a ``federation.share_schema.SharedSection``, and an
  ``ok`` source's items must fit its own decision: an item whose category the
  partner did not release is dropped, and an answer with a malformed item is
  rejected whole (the source becomes ``error`` / "invalid response");
- a ``denied`` source contributes only what its decision reveals (withheld
  sections, reasons, obligations), never records.

Which needs interact is data, not code: ``federation/data/interactions.json``
(``load_interactions``), each rule a set of categories and a plain-language note.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from functools import lru_cache
from importlib import resources
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from federation.fanout import INVALID_RESPONSE, SourceResult, SourceStatus
from federation.share_schema import SharedSection
from federation.vocabulary import current_vocabulary

__all__ = [
    "ConsentState",
    "InteractingNeeds",
    "InteractionRule",
    "JoinedUpView",
    "NeedGroup",
    "NotCovered",
    "RaisedObligation",
    "SourceSummary",
    "ViewAction",
    "ViewContact",
    "ViewNeed",
    "ViewReferral",
    "WithheldSection",
    "assemble_view",
    "load_interactions",
]

log = logging.getLogger("joinedup.federation.view")

ACTIVE_ACTION_STATUSES = frozenset({"proposed", "active"})
CURRENT_NEED_STATUSES = frozenset({"open", "in_progress"})
SEVERITY_ORDER = {"critical": 0, "high": 1, "medium": 2, "low": 3}
_COORDINATOR_ROLE = re.compile(r"co[-\s\u2010\u2011]?ordinator", re.IGNORECASE)


class _PartnerItem(BaseModel):
    # Partners may add fields in later protocol versions; the view ignores them.
    model_config = ConfigDict(extra="ignore")


class ViewNeed(_PartnerItem):
    """A need held by one organisation, tagged with that organisation."""

    ref: str
    category: str
    description: str
    severity: str
    status: str
    since: str | None = None
    withheld_fields: list[str] = Field(
        default_factory=list, description="Fields the holder's policy removed."
    )
    org_id: str
    org_name: str


class NeedGroup(BaseModel):
    """Every organisation's needs in one category."""

    category: str
    needs: list[ViewNeed]


class ViewAction(_PartnerItem):
    """An action in progress (proposed or active) at one organisation."""

    ref: str
    category: str
    what: str
    owner: str
    status: str
    due: str | None = None
    org_id: str
    org_name: str


class ViewReferral(_PartnerItem):
    """An open referral about the person, as the organisation ``org_id`` reported it.

    ``org_id`` is one end of it (``from_org`` or ``to_org``); a referral both ends
    reported is shown once, as the end that changed it last tells it.
    """

    referral_id: str
    from_org: str
    to_org: str
    category: str
    state: str
    urgency: str = "routine"
    sent_at: str
    updated_at: str | None = None
    org_id: str
    org_name: str


class ViewContact(_PartnerItem):
    """A worker the staff member can reach about this person."""

    worker_name: str
    role: str
    how_to_reach: str
    organisation: str
    org_id: str


class SourceSummary(BaseModel):
    """One row of the per-source status table."""

    org_id: str
    org_name: str
    org_kind: str
    status: SourceStatus
    latency_ms: float
    reason: str | None = None


class WithheldSection(BaseModel):
    """A category a partner holds but did not release, and why (as the partner says)."""

    category: str
    org_id: str
    org_name: str
    reason: str


class NotCovered(BaseModel):
    """Requested categories no agreement covers at one organisation (says nothing is held)."""

    org_id: str
    org_name: str
    categories: list[str]


class RaisedObligation(BaseModel):
    """A duty a partner's policy attached to its release, e.g. ``flag_emergency``."""

    obligation: str
    org_id: str


class InteractionRule(BaseModel):
    """Categories whose needs interact, and what staff should keep in mind."""

    id: str
    categories: list[str] = Field(min_length=2)
    note: str


class InteractingNeeds(BaseModel):
    """A rule that applies to this person: their current needs in all its categories."""

    rule_id: str
    categories: list[str]
    note: str
    need_refs: list[str]
    organisations: list[str]


class ConsentState(BaseModel):
    """Whether the requester obtained a consent token before asking partners."""

    status: str = Field(description="obtained, unavailable or refused")
    reason: str | None = None


class JoinedUpView(BaseModel):
    """The joined-up picture of one person's needs for one purpose; never stored."""

    view_id: str
    subject_id: str
    purpose: str
    generated_at: datetime
    emergency: bool = False
    consent: ConsentState | None = None
    complete: bool = Field(description="every source answered ok")
    needs: list[NeedGroup]
    actions: list[ViewAction]
    referrals: list[ViewReferral] = Field(
        default_factory=list, description="Open referrals about the person, once each."
    )
    contacts: list[ViewContact]
    coordinator: ViewContact | None
    interacting_needs: list[InteractingNeeds]
    withheld: list[WithheldSection] = Field(
        description="Held by the partner but not released, as the partner's policy says."
    )
    not_covered: list[NotCovered] = Field(
        default_factory=list, description="Per organisation: requested, but no agreement covers."
    )
    obligations: list[RaisedObligation]
    sources: list[SourceSummary]


class _Section(BaseModel):
    """One partner's validated contribution."""

    needs: list[ViewNeed] = []
    actions: list[ViewAction] = []
    referrals: list[ViewReferral] = []
    contacts: list[ViewContact] = []
    coordinator: ViewContact | None = None
    withheld: list[WithheldSection] = []
    not_covered: NotCovered | None = None
    obligations: list[RaisedObligation] = []


def load_interactions(path: Path | None = None) -> tuple[InteractionRule, ...]:
    """The interaction rules from ``path`` or the packaged ``interactions.json``."""
    if path is None:
        return _packaged_interactions()
    return _parse_interactions(Path(path).read_text())


@lru_cache(maxsize=1)
def _packaged_interactions() -> tuple[InteractionRule, ...]:
    text = resources.files("federation.data").joinpath("interactions.json").read_text()
    return _parse_interactions(text)


def _parse_interactions(text: str) -> tuple[InteractionRule, ...]:
    document = json.loads(text)
    return tuple(InteractionRule.model_validate(rule) for rule in document["interactions"])


def assemble_view(
    *,
    subject_id: str,
    purpose: str,
    view_id: str,
    results: Sequence[SourceResult],
    interactions: Iterable[InteractionRule],
    consent: ConsentState | None = None,
    emergency: bool = False,
    now: datetime | None = None,
) -> JoinedUpView:
    """Merge the partners' answers into one view (pure: no I/O, nothing stored)."""
    sections: list[_Section] = []
    sources: list[SourceSummary] = []
    for result in results:
        status, reason = result.status, result.reason
        section = _Section()
        if status in ("ok", "denied") and result.body is not None:
            try:
                section = _section(result, include_records=status == "ok")
            except (ValidationError, TypeError, ValueError, KeyError):
                log.warning("partner answer malformed", extra={"org": result.org_id})
                status, reason = "error", INVALID_RESPONSE
        sections.append(section)
        sources.append(
            SourceSummary(
                org_id=result.org_id,
                org_name=result.org_name,
                org_kind=result.org_kind,
                status=status,
                latency_ms=result.latency_ms,
                reason=reason,
            )
        )

    needs = [n for s in sections for n in s.needs]
    # Only organisations that released a need may name their people (see above).
    contacts = _unique_contacts(c for s in sections if s.needs for c in s.contacts)
    coordinator = _coordinator([s for s in sections if s.needs], contacts)
    return JoinedUpView(
        view_id=view_id,
        subject_id=subject_id,
        purpose=purpose,
        generated_at=now or datetime.now(UTC),
        emergency=emergency,
        consent=consent,
        complete=all(s.status == "ok" for s in sources),
        needs=_group_needs(needs),
        actions=sorted(
            (a for s in sections for a in s.actions),
            key=lambda a: (a.due is None, a.due or "", a.org_id, a.ref),
        ),
        referrals=_unique_referrals(r for s in sections for r in s.referrals),
        contacts=[c for c in contacts if coordinator is None or _key(c) != _key(coordinator)],
        coordinator=coordinator,
        interacting_needs=_interactions(needs, interactions),
        withheld=[w for s in sections for w in s.withheld],
        not_covered=[s.not_covered for s in sections if s.not_covered is not None],
        obligations=_unique_obligations(o for s in sections for o in s.obligations),
        sources=sources,
    )


def _section(result: SourceResult, *, include_records: bool) -> _Section:
    # The protocol's own schema first: an answer that does not fit it is rejected whole.
    shared = SharedSection.model_validate(result.body or {})
    org = {"org_id": result.org_id, "org_name": result.org_name}
    withheld = [
        WithheldSection(category=w.category, reason=w.reason or "withheld by policy", **org)
        for w in shared.decision.withheld
        if w.held
    ]
    uncovered = sorted({w.category for w in shared.decision.withheld if not w.held})
    not_covered = NotCovered(categories=uncovered, **org) if uncovered else None
    obligations = [
        RaisedObligation(obligation=o, org_id=result.org_id) for o in shared.decision.obligations
    ]
    if not include_records:
        return _Section(withheld=withheld, not_covered=not_covered, obligations=obligations)

    # Defence in depth: never show what the partner's own decision did not release.
    released = set(shared.decision.categories)
    needs = [ViewNeed(**n.model_dump(), **org) for n in shared.needs if n.category in released]
    actions = [
        ViewAction(**a.model_dump(), **org) for a in shared.actions if a.category in released
    ]
    # A holder reports only referrals it is a party to, of released categories.
    referrals = [
        ViewReferral(**r.model_dump(), **org)
        for r in shared.referrals
        if r.category in released and result.org_id in (r.from_org, r.to_org)
    ]
    if len(needs) != len(shared.needs) or len(actions) != len(shared.actions):
        log.warning("partner sent unreleased categories", extra={"org": result.org_id})
    contacts = [ViewContact(**c.model_dump(), org_id=result.org_id) for c in shared.contacts]
    coordinator = (
        ViewContact.model_validate({**shared.coordinator, "org_id": result.org_id})
        if shared.coordinator is not None
        else None
    )
    return _Section(
        needs=needs,
        actions=[a for a in actions if a.status in ACTIVE_ACTION_STATUSES],
        referrals=referrals,
        contacts=contacts,
        coordinator=coordinator,
        withheld=withheld,
        not_covered=not_covered,
        obligations=obligations,
    )


def _group_needs(needs: list[ViewNeed]) -> list[NeedGroup]:
    groups: dict[str, list[ViewNeed]] = {}
    for need in needs:
        groups.setdefault(need.category, []).append(need)
    return [
        NeedGroup(
            category=category,
            needs=sorted(
                groups[category],
                key=lambda n: (SEVERITY_ORDER.get(n.severity, 9), n.org_id, n.ref),
            ),
        )
        for category in sorted(groups, key=current_vocabulary().category_rank)
    ]


def _coordinator(sections: list[_Section], contacts: list[ViewContact]) -> ViewContact | None:
    for section in sections:
        if section.coordinator is not None:
            return section.coordinator
    for contact in contacts:
        if _COORDINATOR_ROLE.search(contact.role):
            return contact
    return None


def _key(contact: ViewContact) -> tuple[str, str, str, str]:
    return (contact.org_id, contact.worker_name.strip().lower(), contact.role, contact.organisation)


def _unique_contacts(contacts: Iterable[ViewContact]) -> list[ViewContact]:
    seen: dict[tuple[str, str, str, str], ViewContact] = {}
    for contact in contacts:
        seen.setdefault(_key(contact), contact)
    return list(seen.values())


def _interactions(
    needs: list[ViewNeed], rules: Iterable[InteractionRule]
) -> list[InteractingNeeds]:
    current = [n for n in needs if n.status in CURRENT_NEED_STATUSES]
    present = {n.category for n in current}
    found = []
    for rule in rules:
        if not set(rule.categories) <= present:
            continue
        involved = [n for n in current if n.category in rule.categories]
        found.append(
            InteractingNeeds(
                rule_id=rule.id,
                categories=list(rule.categories),
                note=rule.note,
                need_refs=sorted(n.ref for n in involved),
                organisations=sorted({n.org_id for n in involved}),
            )
        )
    return found


def _unique_referrals(items: Iterable[ViewReferral]) -> list[ViewReferral]:
    """Each referral once (both ends may report it): the end that changed it last wins."""
    latest: dict[str, ViewReferral] = {}
    for item in items:
        seen = latest.get(item.referral_id)
        if seen is None or (item.updated_at or "") > (seen.updated_at or ""):
            latest[item.referral_id] = item
    return sorted(latest.values(), key=lambda r: (r.sent_at, r.referral_id))


def _unique_obligations(items: Iterable[RaisedObligation]) -> list[RaisedObligation]:
    seen: dict[tuple[str, str], RaisedObligation] = {}
    for item in items:
        seen.setdefault((item.obligation, item.org_id), item)
    return list(seen.values())

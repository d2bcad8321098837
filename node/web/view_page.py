"""Turn a ``JoinedUpView`` into what the view page shows, picture first.

Organisations get colours in a stable order (sorted by name, then id), so the
same partner keeps the same colour on every view and the legend, the ring and the
lists agree. The picture and the lists are built from the same objects here, which
is what makes the lists a faithful text alternative to the SVG.

The notes above the picture say what happened in plain words for the staff member:
which organisations did not answer (and how), which answered but released nothing
under their policy, and what became of consent — never a raw status code.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from appkit.labels import Labels
from federation.view import JoinedUpView, SourceSummary, ViewNeed, ViewReferral
from node.referrals.states import LABELS as REFERRAL_STATES
from node.web.circle import ORG_COLOURS, Circle, GapPoint, NeedPoint, layout

EMERGENCY_OBLIGATION = "flag_emergency"


@dataclass(frozen=True)
class OrgKey:
    """One organisation in the legend."""

    org_id: str
    org_name: str
    org_class: str
    status: str
    need_count: int


@dataclass(frozen=True)
class ReferralLine:
    """An open referral about the person, in words (the view's "Actions in progress")."""

    referral_id: str
    from_name: str
    to_name: str
    category: str
    state: str
    age: str


@dataclass
class ViewPage:
    view: JoinedUpView
    circle: Circle
    orgs: list[OrgKey]
    org_class: dict[str, str]
    org_names: dict[str, str]
    emergency_flagged: bool
    description: str
    obligations: list[str] = field(default_factory=list)
    referrals: list[ReferralLine] = field(default_factory=list)
    answer_note: str | None = None
    consent_note: str | None = None


def _org_order(view: JoinedUpView) -> list[tuple[str, str]]:
    names: dict[str, str] = {}
    for source in view.sources:
        names.setdefault(source.org_id, source.org_name or source.org_id)
    for group in view.needs:
        for need in group.needs:
            names.setdefault(need.org_id, need.org_name or need.org_id)
    return sorted(names.items(), key=lambda item: (item[1].lower(), item[0]))


def build_view_page(view: JoinedUpView, *, labels: Labels, person_name: str) -> ViewPage:
    """Everything the template needs: colours, the ring layout, the legend, a summary."""
    order = _org_order(view)
    org_class = {org_id: f"org-{i % ORG_COLOURS}" for i, (org_id, _) in enumerate(order)}
    org_names = dict(order)
    status_of = {s.org_id: s.status for s in view.sources}
    needs_by_org: dict[str, list[ViewNeed]] = {}
    for group in view.needs:
        for need in group.needs:
            needs_by_org.setdefault(need.org_id, []).append(need)

    groups: list[tuple[str, str, list[NeedPoint] | GapPoint]] = []
    legend: list[OrgKey] = []
    for org_id, org_name in order:
        status = status_of.get(org_id, "ok")
        own = needs_by_org.get(org_id, [])
        legend.append(OrgKey(org_id, org_name, org_class[org_id], status, len(own)))
        if status != "ok" and not own:
            groups.append((org_id, org_class[org_id], GapPoint(org_id, org_name, status)))
            continue
        points = [
            NeedPoint(
                ref=n.ref,
                org_id=org_id,
                org_name=org_name,
                org_class=org_class[org_id],
                category=n.category,
                status=n.status,
                severity=n.severity,
            )
            for n in own
        ]
        groups.append((org_id, org_class[org_id], points))

    obligations = sorted({o.obligation for o in view.obligations})
    flagged = view.emergency or EMERGENCY_OBLIGATION in obligations
    return ViewPage(
        view=view,
        circle=layout(groups),
        orgs=legend,
        org_class=org_class,
        org_names=org_names,
        emergency_flagged=flagged,
        description=_describe(view, labels=labels, person_name=person_name, org_names=org_names),
        obligations=obligations,
        referrals=[_referral_line(r, view, labels, org_names) for r in view.referrals],
        answer_note=_answer_note(view.sources),
        consent_note=_consent_note(view, labels=labels),
    )


def _referral_line(
    referral: ViewReferral, view: JoinedUpView, labels: Labels, org_names: dict[str, str]
) -> ReferralLine:
    try:
        sent = dt.datetime.fromisoformat(referral.sent_at)
        days = max(0, (view.generated_at - sent).days)
        age = "today" if days == 0 else f"{days} day{'' if days == 1 else 's'}"
    except (TypeError, ValueError):
        age = ""
    return ReferralLine(
        referral_id=referral.referral_id,
        from_name=org_names.get(referral.from_org, referral.from_org),
        to_name=org_names.get(referral.to_org, referral.to_org),
        category=labels.word("categories", referral.category),
        state=REFERRAL_STATES.get(referral.state, referral.state.replace("_", " ")),
        age=age,
    )


def _names(sources: list[SourceSummary]) -> str:
    names = [s.org_name or s.org_id for s in sources]
    return names[0] if len(names) == 1 else f"{', '.join(names[:-1])} and {names[-1]}"


def _answer_note(sources: list[SourceSummary]) -> str | None:
    """What became of the organisations that did not share, or None when all shared."""
    late = [s for s in sources if s.status == "unavailable"]
    broken = [s for s in sources if s.status == "error"]
    declined = [s for s in sources if s.status == "denied"]
    if not (late or broken or declined):
        return None
    parts = [
        "Not every organisation answered." if late or broken else "Every organisation answered."
    ]
    if late:
        parts.append(f"{_names(late)} did not answer in time.")
    if broken:
        parts.append(
            f"{_names(broken)} sent an answer that could not be used, so none of it is shown."
        )
    if declined:
        parts.append(
            f"{_names(declined)} released nothing for this purpose: "
            f"{'its' if len(declined) == 1 else 'their'} sharing policy did not allow it."
        )
    if late or broken:
        parts.append("The picture shows where something may be missing.")
    return " ".join(parts)


def _consent_note(view: JoinedUpView, *, labels: Labels) -> str | None:
    """Consent in plain words, when the view was not built on the person's consent."""
    consent = view.consent
    if consent is None or consent.status == "obtained":
        return None
    said = labels.word("consent_outcome", consent.status)
    why = f": {consent.reason}" if consent.reason else ""
    return f"{said}{why}. Organisations shared only what they may share without consent."


def _describe(
    view: JoinedUpView, *, labels: Labels, person_name: str, org_names: dict[str, str]
) -> str:
    """The SVG's <desc>: the picture in one paragraph, for screen readers."""
    count = sum(len(g.needs) for g in view.needs)
    parts = [
        f"{person_name} at the centre, with {count} need{'s' if count != 1 else ''} "
        f"from {len({n.org_id for g in view.needs for n in g.needs})} organisation(s)."
    ]
    for group in view.needs:
        for need in group.needs:
            parts.append(
                f"{labels.word('categories', need.category)} "
                f"({org_names.get(need.org_id, need.org_id)}, "
                f"{labels.word('need_status', need.status).lower()}, "
                f"{labels.word('severity', need.severity).lower()} severity)."
            )
    for source in view.sources:
        if source.status != "ok":
            parts.append(
                f"{source.org_name or source.org_id}: "
                f"{labels.word('source_status', source.status).lower()}."
            )
    return " ".join(parts)

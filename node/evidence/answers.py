"""One evidence question, end to end: the API and the analysts' page both call this.

``answer_question`` builds the ``EvidenceQuery`` from the request (every category of
the taxonomy unless the request narrows them), runs the rounds
(``node.evidence.flows``), applies disclosure control and audits the release, then
returns the published answer (``node.evidence.publish``).
"""

from __future__ import annotations

from typing import Any

from federation.errors import ValidationFailed
from federation.evidence import EvidenceQuery, load_catalogue
from federation.registry import Registry
from node.auth.dependencies import StaffPrincipal
from node.evidence import flows
from node.evidence.publish import build_answer, protect
from node.evidence.schemas import EvidenceAnswer, EvidenceRequest
from node.federation.exceptions import NotInFederation
from node.policy import PolicyEngine


def build_query(body: EvidenceRequest, categories: frozenset[str]) -> EvidenceQuery:
    """The query every participant will lay out identically; 422 on anything wrong."""
    chosen = sorted(set(body.categories or categories))
    unknown = [c for c in chosen if c not in categories]
    if unknown or not chosen:
        raise ValidationFailed(f"not need categories here: {', '.join(unknown) or 'none given'}")
    try:
        return EvidenceQuery(
            question=body.question,
            period_from=body.period_from,
            period_to=body.period_to,
            categories=chosen,
            purpose=body.purpose,
        )
    except ValueError as exc:
        raise ValidationFailed(str(exc).splitlines()[-1].strip()) from None


async def answer_question(
    *, state: Any, registry: Registry, staff: StaffPrincipal, body: EvidenceRequest
) -> EvidenceAnswer:
    """Ask the federation ``body``'s question as ``staff``; the protected answer."""
    settings = state.settings
    policy: PolicyEngine | None = getattr(state, "policy", None)
    if policy is None:
        raise NotInFederation("the policy engine is not loaded; no evidence can be given")
    query = build_query(body, frozenset(state.vocabulary.categories))
    asking = flows.Asking(
        org_id=settings.org_id,
        org_kind=settings.org_kind,
        keys=state.keys,
        staff_pseudonym=staff.pseudonym,
        staff_role=staff.role,
        join_deadline_s=settings.evidence_deadline_s,
        contribute_deadline_s=settings.evidence_deadline_s,
    )
    totals = await flows.gather_totals(
        engine=state.engine,
        http=state.http,
        registry=registry,
        policy=policy,
        asking=asking,
        query=query,
    )
    rules = load_catalogue().disclosure
    protected = protect(totals, rules)
    await flows.audit_answer(state.engine, asking, totals, protected.suppressed_count())
    return build_answer(
        totals=totals,
        protected=protected,
        rules=rules,
        category_labels=state.vocabulary.labels("categories"),
        registry=registry,
    )

"""Which provisions a consent token carries, and issuing it.

A token for (subject, requester, purpose) lists every provision of the subject's
consents that is in force now — status ``active``, inside its period — and that
names the requester among its recipients and the purpose among its purposes
(DESIGN "Consent"). Nothing else about the subject is disclosed to the requester:
each provision names the requester as its only recipient, not whoever else the
customer chose.
The token itself is made by ``federation.consent_token.issue_consent_token``.
"""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session, col, select

from consent.consents.models import Consent, ConsentProvision
from consent.db import utcnow
from consent.subjects.service import require_subject
from federation.consent_token import ConsentProvisionClaim, issue_consent_token
from federation.keys import MemberKeys


def applicable_provisions(
    *, session: Session, subject_id: str, requester: str, purpose: str, now: datetime
) -> list[ConsentProvisionClaim]:
    rows = session.exec(
        select(Consent, ConsentProvision)
        .join(ConsentProvision, col(ConsentProvision.consent_id) == col(Consent.id))
        .where(Consent.subject_id == subject_id)
        .where(Consent.status == "active")
        .where(col(ConsentProvision.version) == col(Consent.version))
        .order_by(col(Consent.created_at), col(ConsentProvision.id))
    ).all()
    claims: list[ConsentProvisionClaim] = []
    for consent, provision in rows:
        if consent.period_start > now:
            continue
        if consent.period_end is not None and consent.period_end <= now:
            continue
        if requester not in provision.recipients or purpose not in provision.purposes:
            continue
        claims.append(
            ConsentProvisionClaim(
                consent_id=consent.id,
                purposes=list(provision.purposes),
                # Only the requester: the other recipients the customer chose are
                # none of the requester's business (data minimisation).
                recipients=[requester],
                categories=list(provision.categories),
                actions=list(provision.actions),
                period_end=int(consent.period_end.timestamp()) if consent.period_end else None,
            )
        )
    return claims


def issue_token_for(
    *,
    session: Session,
    keys: MemberKeys,
    subject_id: str,
    requester: str,
    purpose: str,
    max_age_s: int,
    now: datetime | None = None,
) -> tuple[str, int]:
    """A signed consent token and its expiry (epoch s); unknown subject is NotFound."""
    require_subject(session=session, subject_id=subject_id)
    at = now or utcnow()
    provisions = applicable_provisions(
        session=session, subject_id=subject_id, requester=requester, purpose=purpose, now=at
    )
    issued = int(at.timestamp())
    token = issue_consent_token(
        keys=keys,
        subject_id=subject_id,
        requester=requester,
        purpose=purpose,
        provisions=provisions,
        max_age_s=max_age_s,
        now=issued,
    )
    return token, issued + max_age_s

"""Grant, amend and revoke consents; read them and their history.

Every change appends a ``ConsentEvent`` holding the state it produced, and an
amendment adds a new version of the provisions beside the old one, so the
history is never rewritten (DESIGN "Consent": "nothing is deleted"). Revoking sets
the FHIR R4 status ``inactive``; revoking twice is a no-op that reports
``changed=False`` (idempotent). The revocation push to member nodes is a separate
flow (``consent.revocations.service``) run after the transaction commits.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlmodel import Session, col, select

from consent.consents.models import Consent, ConsentEvent, ConsentProvision
from consent.consents.schemas import (
    ConsentEventPublic,
    ConsentGrant,
    ConsentPublic,
    ConsentUpdate,
    ProvisionCreate,
    ProvisionPublic,
)
from consent.db import utcnow
from consent.subjects.service import require_subject
from federation.errors import Conflict, NotFound, ValidationFailed


def new_consent_id() -> str:
    return f"cns_{secrets.token_hex(16)}"


def _check_recipients(provisions: Iterable[ProvisionCreate], known_orgs: frozenset[str]) -> None:
    for provision in provisions:
        unknown = [org for org in provision.recipients if org not in known_orgs]
        if unknown:
            raise ValidationFailed(
                f"recipient(s) not organisations of the federation: {', '.join(sorted(unknown))}"
            )


def _add_provisions(
    session: Session, consent_id: str, version: int, provisions: Iterable[ProvisionCreate]
) -> None:
    for provision in provisions:
        session.add(
            ConsentProvision(
                consent_id=consent_id,
                version=version,
                purposes=list(provision.purposes),
                recipients=list(provision.recipients),
                categories=list(provision.categories),
                actions=list(provision.actions),
            )
        )


def current_provisions(*, session: Session, consent: Consent) -> list[ConsentProvision]:
    """The provisions of the consent's current version, in the order given."""
    return list(
        session.exec(
            select(ConsentProvision)
            .where(ConsentProvision.consent_id == consent.id)
            .where(ConsentProvision.version == consent.version)
            .order_by(col(ConsentProvision.id))
        ).all()
    )


def to_public(*, session: Session, consent: Consent) -> ConsentPublic:
    provisions = current_provisions(session=session, consent=consent)
    return ConsentPublic(
        **consent.model_dump(),
        provisions=[ProvisionPublic.model_validate(p, from_attributes=True) for p in provisions],
    )


def _snapshot(session: Session, consent: Consent) -> dict[str, Any]:
    return to_public(session=session, consent=consent).model_dump(mode="json")


def _record(session: Session, consent: Consent, kind: str, actor: str, at: datetime) -> None:
    session.flush()
    session.add(
        ConsentEvent(
            consent_id=consent.id,
            kind=kind,
            at=at,
            actor=actor,
            snapshot=_snapshot(session, consent),
        )
    )
    session.flush()


def grant_consent(
    *,
    session: Session,
    subject_id: str,
    grant: ConsentGrant,
    recorded_by: str,
    known_orgs: frozenset[str],
    now: datetime | None = None,
) -> Consent:
    """Record a new active consent for an enrolled subject."""
    require_subject(session=session, subject_id=subject_id)
    _check_recipients(grant.provisions, known_orgs)
    at = now or utcnow()
    start = grant.period_start or at
    if grant.period_end is not None and grant.period_end <= start:
        raise ValidationFailed("period_end must be after period_start")
    consent = Consent(
        id=new_consent_id(),
        subject_id=subject_id,
        status="active",
        grantor_kind=grant.grantor_kind,
        grantor_name=grant.grantor_name,
        recorded_by=recorded_by,
        period_start=start,
        period_end=grant.period_end,
        version=1,
        created_at=at,
        updated_at=at,
    )
    session.add(consent)
    session.flush()
    _add_provisions(session, consent.id, 1, grant.provisions)
    _record(session, consent, "granted", recorded_by, at)
    return consent


def get_consent(*, session: Session, consent_id: str) -> Consent:
    consent = session.get(Consent, consent_id)
    if consent is None:
        raise NotFound("unknown consent")
    return consent


def amend_consent(
    *,
    session: Session,
    consent: Consent,
    update: ConsentUpdate,
    actor: str,
    known_orgs: frozenset[str],
    now: datetime | None = None,
) -> Consent:
    """Change an active consent; the old version stays readable in the history."""
    if consent.status != "active":
        raise Conflict("only an active consent can be amended")
    changes = update.model_dump(exclude_unset=True)
    kind = changes.get("grantor_kind", consent.grantor_kind)
    name = changes["grantor_name"] if "grantor_name" in changes else consent.grantor_name
    if kind == "customer" and "grantor_kind" in changes and "grantor_name" not in changes:
        name = None
    if kind == "advocate" and not name:
        raise ValidationFailed("an advocate grantor needs grantor_name")
    if kind == "customer" and name:
        raise ValidationFailed("grantor_name is only for an advocate")
    start = changes.get("period_start") or consent.period_start
    end = changes["period_end"] if "period_end" in changes else consent.period_end
    if end is not None and end <= start:
        raise ValidationFailed("period_end must be after period_start")
    if update.provisions is not None:
        _check_recipients(update.provisions, known_orgs)
    at = now or utcnow()
    consent.grantor_kind, consent.grantor_name = kind, name
    consent.period_start, consent.period_end = start, end
    old_version = consent.version
    consent.version = old_version + 1
    consent.updated_at = at
    session.add(consent)
    if update.provisions is not None:
        _add_provisions(session, consent.id, consent.version, update.provisions)
    else:
        carried = session.exec(
            select(ConsentProvision)
            .where(ConsentProvision.consent_id == consent.id)
            .where(ConsentProvision.version == old_version)
            .order_by(col(ConsentProvision.id))
        ).all()
        _add_provisions(
            session,
            consent.id,
            consent.version,
            [ProvisionCreate.model_validate(p, from_attributes=True) for p in carried],
        )
    _record(session, consent, "amended", actor, at)
    return consent


def revoke_consent(
    *, session: Session, consent: Consent, actor: str, now: datetime | None = None
) -> bool:
    """Make a consent inactive; returns False if it already was (idempotent)."""
    if consent.status != "active":
        return False
    at = now or utcnow()
    consent.status = "inactive"
    consent.updated_at = at
    session.add(consent)
    _record(session, consent, "revoked", actor, at)
    return True


def list_consents(*, session: Session, subject_id: str) -> list[ConsentPublic]:
    consents = session.exec(
        select(Consent).where(Consent.subject_id == subject_id).order_by(col(Consent.created_at))
    ).all()
    return [to_public(session=session, consent=c) for c in consents]


def revocation_times(*, session: Session, consent_ids: Iterable[str]) -> dict[str, datetime]:
    """When each of ``consent_ids`` that was revoked was revoked (its first revocation)."""
    ids = list(consent_ids)
    if not ids:
        return {}
    events = session.exec(
        select(ConsentEvent)
        .where(col(ConsentEvent.consent_id).in_(ids), ConsentEvent.kind == "revoked")
        .order_by(col(ConsentEvent.id))
    ).all()
    times: dict[str, datetime] = {}
    for event in events:
        times.setdefault(event.consent_id, event.at)
    return times


def consent_history(*, session: Session, consent_id: str) -> list[ConsentEventPublic]:
    events = session.exec(
        select(ConsentEvent)
        .where(ConsentEvent.consent_id == consent_id)
        .order_by(col(ConsentEvent.id))
    ).all()
    return [ConsentEventPublic.model_validate(e, from_attributes=True) for e in events]

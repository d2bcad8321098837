"""Scheduling the revocation push after the request's transaction commits."""

from __future__ import annotations

from fastapi import BackgroundTasks, Request

from consent.consents.models import Consent
from consent.revocations.service import push_revocation


def schedule_revocation_push(
    request: Request, background: BackgroundTasks, consent: Consent
) -> None:
    """Queue the push; background tasks run after the response, i.e. after the commit."""
    holder = getattr(request.app.state, "registry", None)
    if holder is None:
        return
    settings = request.app.state.settings
    background.add_task(
        push_revocation,
        client=request.app.state.http,
        registry=holder.current(),
        keys=request.app.state.keys,
        consent_id=consent.id,
        subject_id=consent.subject_id,
        revoked_at=int(consent.updated_at.timestamp()),
        timeout_s=settings.revocation_push_timeout_s,
        attempts=settings.revocation_push_attempts,
    )

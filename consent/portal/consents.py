"""Portal pages to grant a consent, revoke one (after confirming) and read its history.

They call the same service functions as ``/me/consents`` (``consent.consents.service``)
and so enforce the same rules: closed vocabularies, recipients that are members of
the federation, a period that ends after it starts. A revocation is pushed to every
member node once the transaction has committed (a background task, as the API does).
Bad input re-renders the form with a message per field (422), never a 500.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Container
from dataclasses import dataclass, field
from typing import Any

from fastapi import APIRouter, BackgroundTasks, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import ValidationError
from starlette.datastructures import FormData

from appkit.labels import load_labels
from consent.consents.schemas import ConsentGrant, ConsentPublic
from consent.consents.service import (
    consent_history,
    grant_consent,
    revocation_times,
    revoke_consent,
    to_public,
)
from consent.db import SessionDep
from consent.members.dependencies import organisation_ids
from consent.portal.dependencies import CsrfForm, OwnedConsent, PortalCustomer
from consent.portal.pages import (
    PORTAL_PREFIX,
    PortalRoute,
    end_of_day,
    render,
    today_in_london,
)
from consent.portal.wording import consent_sentences, has_ended
from consent.revocations.dependencies import schedule_grant_push, schedule_revocation_push
from federation.errors import JoinedUpError
from federation.vocabulary import Vocabulary, current_vocabulary

router = APIRouter(route_class=PortalRoute)
MAX_NAME = 200


def org_names(request: Request) -> dict[str, str]:
    """Member organisations' display names from the signed registry (id → name)."""
    holder = getattr(request.app.state, "registry", None)
    if holder is None:
        return {}
    return {m.org_id: m.name for m in holder.current().organisations()}


def known_orgs(request: Request) -> frozenset[str]:
    holder = getattr(request.app.state, "registry", None)
    return organisation_ids(holder.current()) if holder is not None else frozenset()


@dataclass
class GrantForm:
    recipients: list[str] = field(default_factory=list)
    categories: list[str] = field(default_factory=list)
    purposes: list[str] = field(default_factory=lambda: ["care_coordination"])
    actions: list[str] = field(default_factory=lambda: ["read"])
    period_end: str = ""
    grantor_kind: str = "customer"
    grantor_name: str = ""


def _strings(form: FormData, key: str) -> list[str]:
    return [v for v in form.getlist(key) if isinstance(v, str)][:50]


def _text(form: FormData, key: str) -> str:
    value = form.get(key)
    return value.strip() if isinstance(value, str) else ""


def read_grant_form(form: FormData) -> GrantForm:
    return GrantForm(
        recipients=_strings(form, "recipients"),
        categories=_strings(form, "categories"),
        purposes=_strings(form, "purposes"),
        actions=_strings(form, "actions"),
        period_end=_text(form, "period_end")[:32],
        grantor_kind=_text(form, "grantor_kind") or "customer",
        # Not cut: an over-long name is refused with a message (issue 11 item 11).
        grantor_name=_text(form, "grantor_name"),
    )


def check_grant_form(
    entered: GrantForm, orgs: frozenset[str], today: dt.date, vocabulary: Vocabulary
) -> tuple[dict[str, str], dt.datetime | None]:
    """Field → message for each problem, and the period end (end of that day in London)."""
    errors: dict[str, str] = {}
    choices: tuple[tuple[str, list[str], Container[str], str], ...] = (
        ("recipients", entered.recipients, orgs, "Choose at least one organisation from the list."),
        (
            "categories",
            entered.categories,
            vocabulary.categories,
            "Choose at least one kind of record.",
        ),
        ("purposes", entered.purposes, vocabulary.purposes, "Choose at least one reason."),
        ("actions", entered.actions, vocabulary.actions, "Choose at least one thing they may do."),
    )
    for name, values, allowed, message in choices:
        if not values or any(v not in allowed for v in values):
            errors[name] = message
    end: dt.datetime | None = None
    if entered.period_end:
        try:
            day = dt.date.fromisoformat(entered.period_end)
        except ValueError:
            errors["period_end"] = "Enter the end date as a date, e.g. 2027-03-01."
        else:
            if day <= today:
                errors["period_end"] = "The end date must be in the future."
            else:
                end = end_of_day(day)
    if entered.grantor_kind not in ("customer", "advocate"):
        errors["grantor_kind"] = "Say whether you are the person or their advocate."
    elif entered.grantor_kind == "advocate" and not entered.grantor_name:
        errors["grantor_name"] = "Enter the advocate's name."
    if len(entered.grantor_name) > MAX_NAME:
        over = len(entered.grantor_name) - MAX_NAME
        errors["grantor_name"] = (
            f"The name is {len(entered.grantor_name):,} characters long; the limit is {MAX_NAME}. "
            f"Shorten it by {over:,} character{'' if over == 1 else 's'}."
        )
    return errors, end


def _grant_page(
    request: Request, entered: GrantForm, errors: dict[str, str], status_code: int = 200
) -> Response:
    vocabulary = current_vocabulary()  # the service's taxonomy: a new term needs no code
    names = org_names(request)
    return render(
        request,
        "grant.html",
        {
            "form": entered,
            "errors": errors,
            "orgs": sorted(names.items(), key=lambda item: item[1].lower()),
            "categories": [(c, vocabulary.label("categories", c)) for c in vocabulary.categories],
            "purposes": [(p, vocabulary.label("purposes", p)) for p in vocabulary.purposes],
            "actions": [(a, vocabulary.label("actions", a)) for a in vocabulary.actions],
            "today": today_in_london().isoformat(),
            "max_name": MAX_NAME,
        },
        status_code=status_code,
    )


@router.get("/consents/new")
def show_grant_form(request: Request, customer: PortalCustomer) -> Response:
    """The form to grant a new consent."""
    return _grant_page(request, GrantForm(), {})


@router.post("/consents/new")
def grant_my_consent(
    request: Request,
    session: SessionDep,
    customer: PortalCustomer,
    form: CsrfForm,
    background: BackgroundTasks,
) -> Response:
    """Check the form and record the consent; back to "my consents" with a message."""
    entered = read_grant_form(form)
    orgs = known_orgs(request)
    errors, end = check_grant_form(entered, orgs, today_in_london(), current_vocabulary())
    if errors:
        return _grant_page(request, entered, errors, 422)
    try:
        grant = ConsentGrant(
            grantor_kind=entered.grantor_kind,
            grantor_name=entered.grantor_name if entered.grantor_kind == "advocate" else None,
            period_end=end,
            provisions=[
                {
                    "purposes": entered.purposes,
                    "recipients": entered.recipients,
                    "categories": entered.categories,
                    "actions": entered.actions,
                }
            ],
        )
        consent = grant_consent(
            session=session,
            subject_id=customer.subject_id,
            grant=grant,
            recorded_by="customer",
            known_orgs=orgs,
        )
    except (ValidationError, JoinedUpError):
        return _grant_page(request, entered, {"form": "That consent could not be recorded."}, 422)
    schedule_grant_push(request, session, background, consent)
    return RedirectResponse(f"{PORTAL_PREFIX}/?done=granted", status_code=303)


def consent_items(
    *,
    session: SessionDep,
    consents: list[ConsentPublic],
    names: dict[str, str],
    now: dt.datetime | None = None,
) -> list[dict[str, Any]]:
    """Each consent with its sentences, whether it has ended, and when it was revoked."""
    labels = load_labels()
    revoked = revocation_times(
        session=session, consent_ids=[c.id for c in consents if c.status != "active"]
    )
    items = []
    for consent in consents:
        revoked_at = revoked.get(consent.id) if consent.status != "active" else None
        sentences = consent_sentences(
            consent.model_dump(), names=names, labels=labels, revoked_at=revoked_at, now=now
        )
        items.append(
            {
                "consent": consent,
                "sentences": sentences,
                "revoked_at": revoked_at,
                "ended": consent.status != "active" or has_ended(consent.period_end, now),
            }
        )
    return items


def _summary(request: Request, session: SessionDep, consent: Any) -> dict[str, Any]:
    public = to_public(session=session, consent=consent)
    [item] = consent_items(session=session, consents=[public], names=org_names(request))
    return item


@router.get("/consents/{consent_id}/revoke")
def confirm_revoke(
    request: Request, session: SessionDep, customer: PortalCustomer, consent: OwnedConsent
) -> Response:
    """Ask the customer to confirm before revoking."""
    return render(request, "revoke.html", _summary(request, session, consent))


@router.post("/consents/{consent_id}/revoke")
def revoke_my_consent_page(
    request: Request,
    session: SessionDep,
    customer: PortalCustomer,
    consent: OwnedConsent,
    background: BackgroundTasks,
    form: CsrfForm,
) -> Response:
    """Revoke the consent and tell every member node; back to "my consents"."""
    if revoke_consent(session=session, consent=consent, actor="customer"):
        schedule_revocation_push(request, session, background, consent)
    return RedirectResponse(f"{PORTAL_PREFIX}/?done=revoked", status_code=303)


@router.get("/consents/{consent_id}/history")
def show_consent_history(
    request: Request, session: SessionDep, customer: PortalCustomer, consent: OwnedConsent
) -> Response:
    """Every grant, change and revocation of one consent, oldest first."""
    names, labels = org_names(request), load_labels()
    events = [
        {
            "event": e,
            "sentences": consent_sentences(e.snapshot, names=names, labels=labels),
        }
        for e in consent_history(session=session, consent_id=consent.id)
    ]
    context = _summary(request, session, consent)
    context["events"] = events
    return render(request, "history.html", context)

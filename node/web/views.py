"""Staff pages to request a joined-up view for a purpose, and the view page itself.

The form asks for a purpose and, only for emergencies, a legal basis with a
written justification (DESIGN "Consent": emergency access is a separate path that
demands one). Bad input re-renders the form with a message (422). The view is
assembled by the node's own view flow in-process (``obtain_view``), rendered once
and never stored: the answer is the POST's response, marked ``no-store``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from pydantic import ValidationError
from sqlmodel import select

from appkit.labels import load_labels
from federation.errors import ValidationFailed
from federation.policy_bundle import policy_dir as packaged_policy_dir
from federation.view import JoinedUpView
from federation.vocabulary import load_vocabulary
from node.auth.dependencies import StaffPrincipal
from node.db import RowId, SessionDep, release_connection
from node.federation.dependencies import get_registry
from node.links.models import SubjectLink
from node.records import service as records
from node.records.models import Person
from node.views.dependencies import view_context
from node.views.flows import request_joined_up_view
from node.views.schemas import ViewRequest
from node.web.dependencies import CsrfForm, RecordWebStaff
from node.web.pages import HtmlRoute, render
from node.web.view_page import build_view_page

router = APIRouter(route_class=HtmlRoute)
DEFAULT_MIN_JUSTIFICATION = 20
MAX_JUSTIFICATION = 4000


@dataclass
class ViewRequestForm:
    purpose: str = ""
    emergency_basis: str = ""
    justification: str = ""


def _min_justification(policy_dir: Path | None = None) -> int:
    try:
        base = policy_dir or packaged_policy_dir()
        share = json.loads((base / "share" / "data.json").read_text())
        return int(share["emergency"]["min_justification_chars"])
    except (OSError, ValueError, KeyError, TypeError):
        return DEFAULT_MIN_JUSTIFICATION


def purposes_for_views(policy_dir: Path | None = None) -> list[tuple[str, str]]:
    # Record-level views never serve an aggregate purpose (``record_level: false``).
    vocabulary = load_vocabulary(policy_dir)
    return [(p, term.label) for p, term in vocabulary.purposes.items() if term.record_level]


def validate_view_form(form: ViewRequestForm, *, policy_dir: Path | None = None) -> dict[str, str]:
    """Field name -> message for every problem; empty when the form is usable.

    ``policy_dir`` is the node's ``POLICY_DIR`` setting (None: the packaged policies).
    """
    errors: dict[str, str] = {}
    if form.purpose not in dict(purposes_for_views(policy_dir)):
        errors["purpose"] = "Choose the purpose you need the view for."
    bases = dict(load_labels(policy_dir).options("emergency_bases"))
    if form.emergency_basis and form.emergency_basis not in bases:
        errors["emergency_basis"] = "Choose one of the listed emergency bases, or none."
    if form.emergency_basis:
        minimum = _min_justification(policy_dir)
        if len(form.justification.strip()) < minimum:
            errors["justification"] = (
                f"Emergency access needs a written justification of at least {minimum} characters."
            )
    if len(form.justification) > MAX_JUSTIFICATION:
        # Refuse rather than cut: a cut justification would misstate why the records were opened.
        over = len(form.justification) - MAX_JUSTIFICATION
        errors["justification"] = (
            f"The justification is {len(form.justification):,} characters long; the limit is "
            f"{MAX_JUSTIFICATION:,}. Shorten it by {over:,} "
            f"character{'' if over == 1 else 's'}. Nothing has been sent."
        )
    return errors


def _policy_dir(request: Request) -> Path | None:
    """The node's ``POLICY_DIR`` setting (None: the packaged policies)."""
    policy_dir: Path | None = request.app.state.settings.policy_dir
    return policy_dir


def _text(value: Any) -> str:
    return value if isinstance(value, str) else ""


async def obtain_view(
    *,
    request: Request,
    staff: StaffPrincipal,
    subject_id: str,
    purpose: str,
    emergency_basis: str | None,
    justification: str | None,
) -> JoinedUpView:
    """Run the node's own view flow (``node.views.flows``) in-process, as POST /views does."""
    try:
        body = ViewRequest.model_validate(
            {
                "subject_id": subject_id,
                "purpose": purpose,
                "emergency": (
                    {"basis": emergency_basis, "justification": justification or ""}
                    if emergency_basis
                    else None
                ),
            }
        )
    except ValidationError as exc:
        raise ValidationFailed("The view request could not be used; check the form.") from exc
    context = view_context(request, await get_registry(request))
    return await request_joined_up_view(context=context, staff=staff, request=body)


def _form_page(
    request: Request,
    person: Any,
    form: ViewRequestForm,
    errors: dict[str, str],
    linked: bool,
    status_code: int = 200,
) -> Response:
    policy_dir = _policy_dir(request)
    return render(
        request,
        "view_request.html",
        {
            "person": person,
            "form": form,
            "errors": errors,
            "linked": linked,
            "purposes": purposes_for_views(policy_dir),
            "bases": load_labels(policy_dir).options("emergency_bases"),
            "min_justification": _min_justification(policy_dir),
            "max_justification": MAX_JUSTIFICATION,
        },
        status_code=status_code,
    )


@dataclass
class ViewTarget:
    """The person a view is asked about, and their federation subject id if enrolled."""

    person: Person
    subject_id: str | None


def view_target(session: SessionDep, staff: RecordWebStaff, person_id: RowId) -> ViewTarget:
    """Load the person (404 page if absent) and their subject link, in a worker thread."""
    person = records.get_person(session=session, person_id=person_id)
    link = session.exec(select(SubjectLink).where(SubjectLink.person_id == person_id)).first()
    release_connection(session)  # the page then awaits the view's fan-out
    return ViewTarget(person=person, subject_id=link.subject_id if link is not None else None)


ViewTargetDep = Annotated[ViewTarget, Depends(view_target)]


@router.get("/persons/{person_id}/view")
def show_view_form(request: Request, target: ViewTargetDep) -> Response:
    """The form to request a joined-up view of this person's needs."""
    linked = target.subject_id is not None
    return _form_page(request, target.person, ViewRequestForm(), {}, linked)


@router.post("/persons/{person_id}/view")
async def request_view_page(
    request: Request, staff: RecordWebStaff, target: ViewTargetDep, form: CsrfForm
) -> Response:
    """Validate the form, run the view flow and show the joined-up view."""
    entered = ViewRequestForm(
        purpose=_text(form.get("purpose")),
        emergency_basis=_text(form.get("emergency_basis")),
        # Browsers send a line break as CRLF; count it as one character, as the page does.
        justification=_text(form.get("justification")).replace("\r\n", "\n"),
    )
    errors = validate_view_form(entered, policy_dir=_policy_dir(request))
    if target.subject_id is None:
        errors["subject"] = "This person is not enrolled with the consent service yet."
    if errors or target.subject_id is None:
        return _form_page(
            request, target.person, entered, errors, target.subject_id is not None, 422
        )
    view = await obtain_view(
        request=request,
        staff=staff,
        subject_id=target.subject_id,
        purpose=entered.purpose,
        emergency_basis=entered.emergency_basis or None,
        justification=entered.justification.strip() or None,
    )
    person = target.person
    page = build_view_page(
        view,
        labels=load_labels(_policy_dir(request)),
        person_name=f"{person.given_name} {person.family_name}",
    )
    return render(request, "view.html", {"person": person, "page": page, "view": view})

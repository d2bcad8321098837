"""The staff page to refer a person to another organisation (issue 14).

Reached from the person's page, from a need on the joined-up view (the need's
category is then chosen already), or from a service in the guide
(``/ui/referrals/new?org=…&category=…``: the organisation and need are chosen, and
the staff member first finds the person unless the link names them).

The form asks for what a referral co-ordinator expects: the organisation, the
need, the purpose, the urgency with its response target in words, a plain-language
reason, what the person has been told, and, optionally, their contact preferences
and the minimum contact details (sealed to the receiver; it opens them only where
its policy and the person's consent allow).
Emergency referrals without consent need a basis and a written justification, as
emergency views do (the same checks, ``validate_view_form``).

Every other member of the federation is offered: the receiving organisation's
``joinedup.act`` policy decides, and a referral no agreement covers comes back as
"Declined by policy" (nothing else is revealed). The send itself is
``node.referrals.service.send_referral``: the referral, its outbox message and its
audit entry are written in the page's one transaction; the outbox worker is woken
once that has committed.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import ValidationError
from sqlmodel import select
from starlette.background import BackgroundTask

from appkit.labels import load_labels
from federation.errors import NotPermitted, ValidationFailed
from node.db import MAX_ROW_ID, RowId, SessionDep
from node.links.models import SubjectLink
from node.records import service as records
from node.records.models import Person
from node.referrals.data import Urgency
from node.referrals.schemas import ReferralForm
from node.referrals.service import send_referral, vocabulary
from node.web.dependencies import CsrfForm, RecordWebStaff
from node.web.pages import UI_PREFIX, HtmlRoute, render
from node.web.views import (
    MAX_JUSTIFICATION,
    ViewRequestForm,
    _min_justification,
    purposes_for_views,
    validate_view_form,
)

router = APIRouter(route_class=HtmlRoute)
MAX_TEXT = 4000
MAX_SHORT = 200
DEFAULT_PURPOSE = "referral"
# Fields in the order the error summary lists them (each is the id of its input).
TEXT_FIELDS = ("reason", "person_told", "contact_preferences", "contact_how", "justification")


@dataclass
class ReferForm:
    """The form as entered (strings only), so a refused form comes back as it was."""

    to_org: str = ""
    category: str = ""
    purpose: str = DEFAULT_PURPOSE
    urgency: str = "routine"
    reason: str = ""
    person_told: str = ""
    contact_preferences: str = ""
    contact_name: str = ""
    contact_how: str = ""
    emergency_basis: str = ""
    justification: str = ""


@dataclass
class ReferTarget:
    """The person being referred and their federation subject id, if enrolled."""

    person: Person
    subject_id: str | None


def refer_target(session: SessionDep, staff: RecordWebStaff, person_id: RowId) -> ReferTarget:
    """The person (404 page if absent) and their subject link."""
    person = records.get_person(session=session, person_id=person_id)
    link = session.exec(select(SubjectLink).where(SubjectLink.person_id == person_id)).first()
    return ReferTarget(person=person, subject_id=link.subject_id if link is not None else None)


ReferTargetDep = Annotated[ReferTarget, Depends(refer_target)]


def response_target(urgency: Urgency) -> str:
    """'an answer within 5 working days' / 'an answer within 4 hours'."""
    if urgency.hours:
        return f"an answer within {urgency.hours} hour{'' if urgency.hours == 1 else 's'}"
    days = urgency.working_days
    return f"an answer within {days} working day{'' if days == 1 else 's'}"


def partners(request: Request) -> list[tuple[str, str]]:
    """Every other organisation of the federation, by name (the receiver's policy decides)."""
    holder = getattr(request.app.state, "registry", None)
    if holder is None:
        return []
    own = request.app.state.settings.org_id
    members = holder.current().organisations()
    return sorted(
        ((m.org_id, m.name) for m in members if m.org_id != own), key=lambda m: m[1].lower()
    )


def _text(value: Any, limit: int | None = None) -> str:
    # Browsers send a line break as CRLF; count it as one character, as the page does.
    text = value.replace("\r\n", "\n") if isinstance(value, str) else ""
    return text if limit is None else text[: limit + 1]


def read_form(form: Any) -> ReferForm:
    return ReferForm(**{name: _text(form.get(name)) for name in asdict(ReferForm())})


def validate_refer_form(
    entered: ReferForm, *, request: Request, staff_role: str
) -> tuple[dict[str, str], ReferralForm | None]:
    """Field id -> message for each problem, and the service's form when there are none."""
    settings = request.app.state.settings
    labels = load_labels(settings.policy_dir)
    words = vocabulary(settings)
    errors: dict[str, str] = {}
    if entered.to_org not in dict(partners(request)):
        errors["to_org"] = "Choose the organisation to refer to."
    if entered.category not in dict(labels.options("categories")):
        errors["category"] = "Choose the need the referral is about."
    view_like = ViewRequestForm(entered.purpose, entered.emergency_basis, entered.justification)
    errors |= validate_view_form(view_like, policy_dir=settings.policy_dir)
    if "purpose" in errors:
        errors["purpose"] = "Choose the purpose of the referral."
    if entered.urgency not in words.urgencies:
        errors["urgency"] = "Choose how urgent the referral is."
    if not entered.reason.strip():
        errors["reason"] = "Say in plain words why you are referring the person."
    if not entered.person_told.strip():
        errors["person_told"] = "Say what the person has been told about this referral."
    for name in TEXT_FIELDS[:3]:
        if len(getattr(entered, name)) > MAX_TEXT:
            errors[name] = f"This is longer than {MAX_TEXT:,} characters. Nothing has been sent."
    name, how = entered.contact_name.strip(), entered.contact_how.strip()
    if bool(name) != bool(how):
        field = "contact_name" if not name else "contact_how"
        errors[field] = "Give both the person's name and how to contact them, or neither."
    if len(name) > MAX_SHORT or len(how) > 1000:
        errors["contact_how"] = "The contact details are too long. Give the minimum needed."
    if staff_role not in words.refer_roles:
        raise NotPermitted("Your role may not refer people to other organisations.")
    if errors:
        return errors, None
    try:
        form = ReferralForm.model_validate(
            {
                "category": entered.category,
                "purpose": entered.purpose,
                "urgency": entered.urgency,
                "reason": entered.reason.strip(),
                "person_told": entered.person_told.strip(),
                "contact_preferences": entered.contact_preferences.strip() or None,
                "contact": {"name": name, "how_to_contact": how} if name else None,
                "emergency": (
                    {"basis": entered.emergency_basis, "justification": entered.justification}
                    if entered.emergency_basis
                    else None
                ),
            }
        )
    except ValidationError:
        return {"reason": "Some of what you entered could not be used. Check each answer."}, None
    return {}, form


def _form_page(
    request: Request,
    target: ReferTarget,
    form: ReferForm,
    errors: dict[str, str],
    status_code: int = 200,
) -> Response:
    settings = request.app.state.settings
    labels = load_labels(settings.policy_dir)
    words = vocabulary(settings)
    return render(
        request,
        "refer.html",
        {
            "person": target.person,
            "linked": target.subject_id is not None,
            "form": form,
            "errors": errors,
            "partners": partners(request),
            "categories": labels.options("categories"),
            "purposes": purposes_for_views(settings.policy_dir),
            "urgencies": [(u.code, u.label, response_target(u)) for u in words.urgencies.values()],
            "bases": labels.options("emergency_bases"),
            "min_justification": _min_justification(settings.policy_dir),
            "max_justification": MAX_JUSTIFICATION,
            "max_text": MAX_TEXT,
        },
        status_code=status_code,
    )


@router.get("/persons/{person_id}/refer")
def show_refer_form(
    request: Request,
    target: ReferTargetDep,
    category: Annotated[str, Query(max_length=64)] = "",
    to_org: Annotated[str, Query(max_length=64)] = "",
) -> Response:
    """The form to refer this person to another organisation."""
    return _form_page(request, target, ReferForm(category=category, to_org=to_org), {})


@router.get("/referrals/new")
def start_referral(
    request: Request,
    staff: RecordWebStaff,
    org: Annotated[str, Query(max_length=64)] = "",
    category: Annotated[str, Query(max_length=64)] = "",
    service: Annotated[str, Query(max_length=128)] = "",
    person: Annotated[int | None, Query(ge=1, le=MAX_ROW_ID)] = None,
) -> Response:
    """From the guide's "Refer to": the person's refer form, or finding the person first."""
    prefill = urlencode({k: v for k, v in (("to_org", org), ("category", category)) if v})
    if person is not None:
        return RedirectResponse(f"{UI_PREFIX}/persons/{person}/refer?{prefill}", status_code=303)
    labels = load_labels(request.app.state.settings.policy_dir)
    return render(
        request,
        "referral_start.html",
        {
            "to_name": dict(partners(request)).get(org, ""),
            "category_name": labels.word("categories", category) if category else "",
        },
    )


@router.post("/persons/{person_id}/refer")
def send_referral_page(
    request: Request,
    session: SessionDep,
    staff: RecordWebStaff,
    target: ReferTargetDep,
    form: CsrfForm,
) -> Response:
    """Check the form, record the referral with its outbox message, show the referral."""
    entered = read_form(form)
    errors, referral_form = validate_refer_form(entered, request=request, staff_role=staff.role)
    if target.subject_id is None:
        errors["subject"] = "This person is not enrolled with the consent service yet."
    if errors or referral_form is None or target.subject_id is None:
        return _form_page(request, target, entered, errors, 422)
    try:
        referral = send_referral(
            session,
            settings=request.app.state.settings,
            staff=staff,
            subject_id=target.subject_id,
            to_org=entered.to_org,
            form=referral_form,
            registry=request.app.state.registry.current(),
        )
    except ValidationFailed as exc:
        return _form_page(request, target, entered, {"to_org": exc.message}, 422)
    return RedirectResponse(
        f"{UI_PREFIX}/referrals/{referral.id}?done=sent",
        status_code=303,
        background=BackgroundTask(wake_outbox, request),
    )


def wake_outbox(request: Request) -> None:
    """After the commit (a background task runs once the answer is sent): deliver now."""
    outbox = getattr(request.app.state, "outbox", None)
    if outbox is not None:
        outbox.wake()

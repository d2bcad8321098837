"""The needs guide's staff pages: "who can help" for everyone, the catalogue for admins.

``/ui/guide`` searches the federation's guide (``node.guide.flows.find_help``) by
need, words and — for a person this organisation holds, reached from their
joined-up view with ``?person=`` — their age and postcode district, taken from our
own record of them: nothing about the person leaves the node to search. Each
service says in plain words whether it is taking people, how to ask, and how fresh
the information is (an organisation we could not reach at the last try is named).

``/ui/guide/catalogue`` lets an admin add a service, change its capacity and
remove it; each change publishes the next signed version and announces it.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Annotated, Any

from fastapi import APIRouter, BackgroundTasks, Depends, Path, Query, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import ValidationError
from sqlmodel import Session

from appkit.sqltypes import utcnow
from federation.catalogue import MAX_AGE, SERVICE_ID_PATTERN, ServiceEntry, postcode_district
from federation.errors import JoinedUpError
from node.auth.dependencies import RECORD_ROLES, RequestId, StaffPrincipal
from node.db import MAX_ROW_ID, SessionDep
from node.guide import flows, service
from node.records import service as records
from node.web.dependencies import CsrfForm, WebRole, WebStaff
from node.web.pages import UI_PREFIX, HtmlRoute, render

router = APIRouter(route_class=HtmlRoute)
AdminWebStaff = Annotated[StaffPrincipal, Depends(WebRole("admin"))]
ServiceKey = Annotated[str, Path(min_length=1, max_length=64, pattern=SERVICE_ID_PATTERN)]
CAPACITY_WORDS = {
    "open": "Taking people now",
    "waiting_list": "Waiting list",
    "closed": "Not taking anyone now",
}
SHOWN = 50


def age_on(born: dt.date | None, today: dt.date) -> int | None:
    if born is None:
        return None
    return today.year - born.year - ((today.month, today.day) < (born.month, born.day))


def _person_facts(session: Session, staff: StaffPrincipal, person_id: int | None) -> dict[str, Any]:
    """Age and district of one of our own persons (record roles only), for eligibility."""
    if person_id is None or staff.role not in RECORD_ROLES:
        return {}
    person = records.get_person(session=session, person_id=person_id)
    return {
        "id": person.id,
        "name": f"{person.given_name} {person.family_name}",
        "age": age_on(person.date_of_birth, dt.date.today()),
        "district": postcode_district(person.postcode or "") if person.postcode else None,
    }


@router.get("/guide")
def show_guide(
    request: Request,
    session: SessionDep,
    staff: WebStaff,
    category: Annotated[str, Query(max_length=64)] = "",
    q: Annotated[str, Query(max_length=200)] = "",
    age: Annotated[str, Query(max_length=3)] = "",
    postcode: Annotated[str, Query(max_length=10)] = "",
    person: Annotated[int | None, Query(ge=1, le=MAX_ROW_ID)] = None,
) -> Response:
    """Search the guide: who can help with this need, for this person."""
    facts = _person_facts(session, staff, person)
    errors: dict[str, str] = {}
    wanted_age = facts.get("age")
    if age.strip():
        if age.strip().isdigit() and int(age) <= MAX_AGE:
            wanted_age = int(age)
        else:
            errors["age"] = f"Enter an age as a whole number from 0 to {MAX_AGE}."
    district = facts.get("district")
    if postcode.strip():
        district = postcode_district(postcode)
        if district is None:
            errors["postcode"] = "Enter a postcode such as LS6 2AB, or its first part (LS6)."
    searched = bool(category or q.strip() or facts)
    found = None
    if searched and not errors:
        found = flows.find_help(
            session=session,
            registry=flows.current_registry(request.app.state),
            me=request.app.state.settings.org_id,
            my_name=request.app.state.settings.org_name,
            text=q,
            category=category or None,
            age=wanted_age,
            postcode=district,
            limit=SHOWN,
        )
    context = {
        "form": {"category": category, "q": q, "age": age, "postcode": postcode},
        "person": facts,
        "age_used": wanted_age,
        "district_used": district,
        "errors": errors,
        "found": found,
        "shown": SHOWN,
        "capacity_words": CAPACITY_WORDS,
        "now": utcnow(),
    }
    return render(request, "guide.html", context, status_code=422 if errors else 200)


@router.get("/guide/catalogue")
def show_catalogue(request: Request, session: SessionDep, staff: AdminWebStaff) -> Response:
    """This organisation's services, as partners see them, with forms to change them."""
    return _catalogue_page(request, session, form={}, errors={})


def _catalogue_page(
    request: Request,
    session: Session,
    *,
    form: dict[str, Any],
    errors: dict[str, str],
    status_code: int = 200,
) -> Response:
    state = request.app.state
    context = {
        "services": service.list_services(session=session),
        "publication": service.current_publication(session=session),
        "sources": flows.list_sources(
            session=session,
            registry=flows.current_registry(state),
            me=state.settings.org_id,
            my_name=state.settings.org_name,
        ).data,
        "form": form,
        "errors": errors,
        "capacity_words": CAPACITY_WORDS,
    }
    return render(request, "guide_catalogue.html", context, status_code=status_code)


def _publish(
    request: Request,
    session: Session,
    background: BackgroundTasks,
    staff: StaffPrincipal,
    request_id: str,
    change: str,
) -> Response:
    flows.publish_for_staff(
        session=session,
        state=request.app.state,
        background=background,
        staff=staff,
        request_id=request_id,
        change=change,
    )
    return RedirectResponse(f"{UI_PREFIX}/guide/catalogue", status_code=303)


def _field(form: Any, name: str, limit: int = 4_000) -> str:
    value = form.get(name)
    return value.strip()[:limit] if isinstance(value, str) else ""


def _slug(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")[:48] or "service"


def service_from_form(form: Any, taxonomy: Any) -> tuple[dict[str, Any], dict[str, str]]:
    """The service a form describes (as the catalogue model's input) and its errors."""
    entered: dict[str, Any] = {
        name: _field(form, name)
        for name in (
            "name",
            "description",
            "min_age",
            "max_age",
            "districts",
            "capacity",
            "wait",
            "phone",
            "email",
            "hours",
            "roles",
            "eligibility",
        )
    }
    categories = [c for c in form.getlist("categories") if isinstance(c, str)]
    entered["categories"] = categories
    entered["referrals"] = form.get("referrals") == "yes"
    errors: dict[str, str] = {}
    if not entered["name"]:
        errors["name"] = "Enter the service's name."
    if not categories or any(c not in taxonomy for c in categories):
        errors["categories"] = "Choose at least one need the service helps with."
    ages: dict[str, int | None] = {}
    for key in ("min_age", "max_age"):
        text = entered[key]
        if text and not (text.isdigit() and int(text) <= MAX_AGE):
            errors[key] = f"Enter an age as a whole number from 0 to {MAX_AGE}, or leave it empty."
        ages[key] = int(text) if text.isdigit() else None
    wait = entered["wait"]
    if wait and not (wait.isdigit() and int(wait) <= 3650):
        errors["wait"] = "Enter the typical wait as a number of days, or leave it empty."
    districts = [d for d in re.split(r"[\s,]+", entered["districts"].upper()) if d]
    document = {
        "id": _slug(entered["name"]),
        "name": entered["name"][:200],
        "description": entered["description"],
        "categories": categories,
        "eligibility": {
            **ages,
            "postcode_districts": districts,
            "description": entered["eligibility"][:2_000],
        },
        "how_to_ask": {"accepts_referrals": entered["referrals"]},
        "contact": {"phone": entered["phone"][:50], "email": entered["email"][:200]},
        "opening_hours": entered["hours"][:500],
        "roles": [r.strip() for r in entered["roles"].split(",") if r.strip()][:30],
        "capacity": entered["capacity"] or "open",
        "typical_wait_days": int(wait) if wait.isdigit() else None,
    }
    if not errors:
        try:
            ServiceEntry.model_validate(document)
        except ValidationError as exc:
            first = exc.errors()[0]
            where = str(first.get("loc", ("",))[-1] if first.get("loc") else "")
            if "district" in str(first.get("msg", "")) or where == "postcode_districts":
                errors["districts"] = "Enter areas as postcode districts such as LS1, LS6."
            else:
                errors["name"] = "Some of what was entered cannot be used; check each field."
    return {**entered, "document": document}, errors


@router.post("/guide/catalogue")
def add_catalogue_service(
    request: Request,
    session: SessionDep,
    staff: AdminWebStaff,
    form: CsrfForm,
    request_id: RequestId,
    background: BackgroundTasks,
) -> Response:
    """Add a service from the form, publish and announce the catalogue."""
    entered, errors = service_from_form(form, request.app.state.vocabulary.categories)
    if errors:
        return _catalogue_page(request, session, form=entered, errors=errors, status_code=422)
    document = entered["document"]
    taken = {s.id for s in service.list_services(session=session)}
    base, n = document["id"], 2
    while document["id"] in taken:
        document["id"] = f"{base}-{n}"
        n += 1
    entry = ServiceEntry.model_validate(document)
    service.create_service(session=session, entry=entry, now=utcnow())
    return _publish(request, session, background, staff, request_id, f"service {entry.id} added")


@router.post("/guide/catalogue/{service_key}/capacity")
def change_capacity(
    request: Request,
    service_key: ServiceKey,
    session: SessionDep,
    staff: AdminWebStaff,
    form: CsrfForm,
    request_id: RequestId,
    background: BackgroundTasks,
) -> Response:
    """Change a service's capacity (and typical wait), publish and announce."""
    capacity = _field(form, "capacity", 20)
    wait = _field(form, "wait", 5)
    if capacity not in CAPACITY_WORDS or (wait and not wait.isdigit()):
        raise JoinedUpError("Choose how the service is taking people.", status_code=422)
    changes = {"capacity": capacity, "typical_wait_days": int(wait) if wait else None}
    service.update_service(session=session, service_key=service_key, changes=changes, now=utcnow())
    change = f"service {service_key} changed (capacity)"
    return _publish(request, session, background, staff, request_id, change)


@router.post("/guide/catalogue/{service_key}/remove")
def remove_catalogue_service(
    request: Request,
    service_key: ServiceKey,
    session: SessionDep,
    staff: AdminWebStaff,
    form: CsrfForm,
    request_id: RequestId,
    background: BackgroundTasks,
) -> Response:
    """Remove a service, publish and announce."""
    service.delete_service(session=session, service_key=service_key)
    change = f"service {service_key} removed"
    return _publish(request, session, background, staff, request_id, change)

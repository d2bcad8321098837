"""Staff pages for the organisation's own records: find a person, read their page.

Both read through ``node.records.service``, the same functions the records API
uses, so the pages can show nothing the API would not. The search words travel in
the query string; the access log records only the route template, never them.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response
from sqlmodel import select

from node.db import RowId, SessionDep
from node.links.models import SubjectLink
from node.records import service as records
from node.records.models import Person
from node.web.dependencies import RecordWebStaff
from node.web.pages import HtmlRoute, render

router = APIRouter(route_class=HtmlRoute)
PAGE_SIZE = 20
MAX_LIST = 100


@router.get("/persons")
def find_persons(
    request: Request,
    session: SessionDep,
    staff: RecordWebStaff,
    q: Annotated[str, Query(max_length=200)] = "",
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
) -> Response:
    """Search the organisation's own person records by name or local reference."""
    query = q.strip()
    rows: list[Person] = []
    count = 0
    if query:
        rows, count = records.list_persons(
            session=session, q=query, offset=(page - 1) * PAGE_SIZE, limit=PAGE_SIZE
        )
    pages = max(1, -(-count // PAGE_SIZE))
    return render(
        request,
        "persons.html",
        {"q": query, "persons": rows, "count": count, "page": page, "pages": pages},
    )


@router.get("/persons/{person_id}")
def show_person(
    request: Request, session: SessionDep, staff: RecordWebStaff, person_id: RowId
) -> Response:
    """One person's own records at this organisation: needs, actions, contacts."""
    person = records.get_person(session=session, person_id=person_id)
    needs, _ = records.list_needs(
        session=session, person_id=person_id, category=None, status=None, offset=0, limit=MAX_LIST
    )
    actions, _ = records.list_actions(
        session=session, person_id=person_id, need_id=None, status=None, offset=0, limit=MAX_LIST
    )
    contacts, _ = records.list_contacts(
        session=session, person_id=person_id, offset=0, limit=MAX_LIST
    )
    link = session.exec(select(SubjectLink).where(SubjectLink.person_id == person_id)).first()
    return render(
        request,
        "person.html",
        {
            "person": person,
            "needs": needs,
            "actions": actions,
            "contacts": contacts,
            "linked": link is not None,
        },
    )

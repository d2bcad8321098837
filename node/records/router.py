"""The records API for the organisation's own staff: persons, needs, actions, contacts.

Every handler needs a bearer token held by a front-line worker, co-ordinator or
safeguarding lead (``RecordStaff``); auditors, analysts and admins do not see
personal records. Errors are RFC 9457 problem+json (``PROBLEM_RESPONSES``).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from appkit.problems import PROBLEM_RESPONSES
from node.auth.dependencies import RecordStaff
from node.db import MAX_ROW_ID, RowId, SessionDep
from node.records import service
from node.records.dependencies import LinkageKeyDep, PageDep, VocabularyDep
from node.records.models import ActionStatus, NeedStatus
from node.records.schemas import (
    ActionCreate,
    ActionPublic,
    ActionsPublic,
    ActionUpdate,
    ContactCreate,
    ContactPublic,
    ContactsPublic,
    ContactUpdate,
    NeedCreate,
    NeedPublic,
    NeedsPublic,
    NeedUpdate,
    PersonCreate,
    PersonPublic,
    PersonsPublic,
    PersonUpdate,
)

router = APIRouter(responses=PROBLEM_RESPONSES)

PersonFilter = Annotated[int | None, Query(ge=1, le=MAX_ROW_ID, description="Only this person's.")]
SearchText = Annotated[
    str | None,
    Query(
        max_length=200,
        pattern=r"^[^\x00]*$",
        description="Words of a name (all must match), or an exact local reference.",
    ),
]


# -- persons ------------------------------------------------------------------


@router.post("/persons", response_model=PersonPublic, status_code=201, tags=["persons"])
def create_person(
    body: PersonCreate, session: SessionDep, _staff: RecordStaff, key: LinkageKeyDep
) -> PersonPublic:
    """Record a person the organisation works with."""
    person = service.create_person(
        session=session, data=body.model_dump(exclude_unset=True), linkage_key=key
    )
    return PersonPublic.model_validate(person)


@router.get("/persons", response_model=PersonsPublic, tags=["persons"])
def list_persons(
    session: SessionDep, _staff: RecordStaff, paging: PageDep, q: SearchText = None
) -> PersonsPublic:
    """Find persons by name words or local reference; without ``q``, list them all."""
    rows, count = service.list_persons(
        session=session, q=q, offset=paging.offset, limit=paging.limit
    )
    return PersonsPublic(data=[PersonPublic.model_validate(r) for r in rows], count=count)


@router.get("/persons/{person_id}", response_model=PersonPublic, tags=["persons"])
def read_person(person_id: RowId, session: SessionDep, _staff: RecordStaff) -> PersonPublic:
    """One person's record."""
    return PersonPublic.model_validate(service.get_person(session=session, person_id=person_id))


@router.patch("/persons/{person_id}", response_model=PersonPublic, tags=["persons"])
def update_person(
    person_id: RowId,
    body: PersonUpdate,
    session: SessionDep,
    _staff: RecordStaff,
    key: LinkageKeyDep,
) -> PersonPublic:
    """Correct a person's details (linkage tokens are recomputed)."""
    person = service.update_person(
        session=session,
        person_id=person_id,
        changes=body.model_dump(exclude_unset=True),
        linkage_key=key,
    )
    return PersonPublic.model_validate(person)


# -- needs --------------------------------------------------------------------


@router.post("/needs", response_model=NeedPublic, status_code=201, tags=["needs"])
def create_need(
    body: NeedCreate, session: SessionDep, staff: RecordStaff, vocabulary: VocabularyDep
) -> NeedPublic:
    """Record a need in one vocabulary category; the recorder is kept by pseudonym."""
    need = service.create_need(
        session=session, data=body.model_dump(), vocabulary=vocabulary, recorded_by=staff.pseudonym
    )
    return NeedPublic.model_validate(need)


@router.get("/needs", response_model=NeedsPublic, tags=["needs"])
def list_needs(
    session: SessionDep,
    _staff: RecordStaff,
    paging: PageDep,
    person_id: PersonFilter = None,
    category: Annotated[str | None, Query(max_length=64, pattern=r"^[a-z_]+$")] = None,
    status: NeedStatus | None = None,
) -> NeedsPublic:
    """List needs, optionally for one person, category or status."""
    rows, count = service.list_needs(
        session=session,
        person_id=person_id,
        category=category,
        status=status,
        offset=paging.offset,
        limit=paging.limit,
    )
    return NeedsPublic(data=[NeedPublic.model_validate(r) for r in rows], count=count)


@router.get("/needs/{need_id}", response_model=NeedPublic, tags=["needs"])
def read_need(need_id: RowId, session: SessionDep, _staff: RecordStaff) -> NeedPublic:
    """One need."""
    return NeedPublic.model_validate(service.get_need(session=session, need_id=need_id))


@router.patch("/needs/{need_id}", response_model=NeedPublic, tags=["needs"])
def update_need(
    need_id: RowId,
    body: NeedUpdate,
    session: SessionDep,
    _staff: RecordStaff,
    vocabulary: VocabularyDep,
) -> NeedPublic:
    """Change a need's status, severity, category or description."""
    need = service.update_need(
        session=session,
        need_id=need_id,
        changes=body.model_dump(exclude_unset=True),
        vocabulary=vocabulary,
    )
    return NeedPublic.model_validate(need)


# -- actions ------------------------------------------------------------------


@router.post("/actions", response_model=ActionPublic, status_code=201, tags=["actions"])
def create_action(body: ActionCreate, session: SessionDep, _staff: RecordStaff) -> ActionPublic:
    """Record an action for a person, optionally against one of their needs."""
    action = service.create_action(session=session, data=body.model_dump())
    return ActionPublic.model_validate(action)


@router.get("/actions", response_model=ActionsPublic, tags=["actions"])
def list_actions(
    session: SessionDep,
    _staff: RecordStaff,
    paging: PageDep,
    person_id: PersonFilter = None,
    need_id: Annotated[int | None, Query(ge=1, le=MAX_ROW_ID)] = None,
    status: ActionStatus | None = None,
) -> ActionsPublic:
    """List actions, optionally for one person, need or status."""
    rows, count = service.list_actions(
        session=session,
        person_id=person_id,
        need_id=need_id,
        status=status,
        offset=paging.offset,
        limit=paging.limit,
    )
    return ActionsPublic(data=[ActionPublic.model_validate(r) for r in rows], count=count)


@router.get("/actions/{action_id}", response_model=ActionPublic, tags=["actions"])
def read_action(action_id: RowId, session: SessionDep, _staff: RecordStaff) -> ActionPublic:
    """One action."""
    return ActionPublic.model_validate(service.get_action(session=session, action_id=action_id))


@router.patch("/actions/{action_id}", response_model=ActionPublic, tags=["actions"])
def update_action(
    action_id: RowId, body: ActionUpdate, session: SessionDep, _staff: RecordStaff
) -> ActionPublic:
    """Change an action's status, owner, due date or need."""
    action = service.update_action(
        session=session, action_id=action_id, changes=body.model_dump(exclude_unset=True)
    )
    return ActionPublic.model_validate(action)


# -- contacts -----------------------------------------------------------------


@router.post("/contacts", response_model=ContactPublic, status_code=201, tags=["contacts"])
def create_contact(body: ContactCreate, session: SessionDep, _staff: RecordStaff) -> ContactPublic:
    """Record a named worker the person deals with."""
    contact = service.create_contact(session=session, data=body.model_dump())
    return ContactPublic.model_validate(contact)


@router.get("/contacts", response_model=ContactsPublic, tags=["contacts"])
def list_contacts(
    session: SessionDep, _staff: RecordStaff, paging: PageDep, person_id: PersonFilter = None
) -> ContactsPublic:
    """List contacts, optionally for one person."""
    rows, count = service.list_contacts(
        session=session, person_id=person_id, offset=paging.offset, limit=paging.limit
    )
    return ContactsPublic(data=[ContactPublic.model_validate(r) for r in rows], count=count)


@router.get("/contacts/{contact_id}", response_model=ContactPublic, tags=["contacts"])
def read_contact(contact_id: RowId, session: SessionDep, _staff: RecordStaff) -> ContactPublic:
    """One contact."""
    return ContactPublic.model_validate(service.get_contact(session=session, contact_id=contact_id))


@router.patch("/contacts/{contact_id}", response_model=ContactPublic, tags=["contacts"])
def update_contact(
    contact_id: RowId, body: ContactUpdate, session: SessionDep, _staff: RecordStaff
) -> ContactPublic:
    """Change a contact's name, role, organisation or how to reach them."""
    contact = service.update_contact(
        session=session, contact_id=contact_id, changes=body.model_dump(exclude_unset=True)
    )
    return ContactPublic.model_validate(contact)

"""Record services: create, read, update, list and search the organisation's own records.

Typed functions with keyword-only arguments; they raise domain errors
(``NotFound``, ``Conflict``, ``ValidationFailed``), flush but never commit. A
person's linkage tokens are recomputed whenever an identifier changes, so a
partner's link request always matches against current data.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping, Sequence
from typing import Any, TypeVar

from sqlalchemy import ColumnElement, and_, func, or_, true
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, SQLModel, col, select

from federation.errors import Conflict, NotFound, ValidationFailed
from federation.linkage import LinkageKey, linkage_tokens
from federation.vocabulary import Vocabulary
from node.db import utcnow
from node.records.models import Action, Contact, Need, Person

RowT = TypeVar("RowT", bound=SQLModel)

_IDENTIFYING = frozenset(
    {"family_name", "given_name", "date_of_birth", "postcode", "national_number"}
)
_NULLABLE = frozenset({"postcode", "national_number", "due", "need_id"})


# -- shared -------------------------------------------------------------------


def _get(session: Session, model: type[RowT], row_id: int) -> RowT:
    row = session.get(model, row_id)
    if row is None:
        raise NotFound(f"{model.__tablename__} {row_id} not found")
    return row


def _page(
    session: Session,
    model: type[RowT],
    where: Sequence[ColumnElement[bool]],
    offset: int,
    limit: int,
) -> tuple[list[RowT], int]:
    condition = and_(true(), *where)
    rows = session.exec(
        select(model).where(condition).order_by(model.id).offset(offset).limit(limit)  # type: ignore[attr-defined]
    ).all()
    count = session.exec(select(func.count()).select_from(model).where(condition)).one()
    return list(rows), int(count)


def _apply(row: SQLModel, changes: Mapping[str, Any]) -> None:
    for field, value in changes.items():
        if value is None and field not in _NULLABLE:
            raise ValidationFailed(f"{field} cannot be set to null")
        setattr(row, field, value)
    row.updated_at = utcnow()


def _flush(session: Session, what: str) -> None:
    try:
        session.flush()
    except IntegrityError as exc:
        # The request's session dependency rolls the whole transaction back.
        raise Conflict(f"{what} conflicts with an existing record") from exc


def _require_person(session: Session, person_id: int) -> Person:
    person = session.get(Person, person_id)
    if person is None:
        raise ValidationFailed(f"person {person_id} does not exist")
    return person


def _check_category(vocabulary: Vocabulary, category: str) -> None:
    try:
        vocabulary.check("categories", category)
    except ValueError as exc:
        raise ValidationFailed(str(exc)) from exc


# -- persons ------------------------------------------------------------------


def _refresh_tokens(person: Person, linkage_key: LinkageKey | None) -> None:
    if linkage_key is None:
        person.linkage_tokens = []
        return
    person.linkage_tokens = linkage_tokens(
        key=linkage_key,
        family_name=person.family_name,
        given_name=person.given_name,
        date_of_birth=person.date_of_birth,
        postcode=person.postcode,
        national_number=person.national_number,
    )


def create_person(
    *, session: Session, data: Mapping[str, Any], linkage_key: LinkageKey | None
) -> Person:
    """Record a person; ``local_ref`` is generated when not given."""
    fields = dict(data)
    local_ref = fields.pop("local_ref", None) or f"P-{secrets.token_hex(5).upper()}"
    if session.exec(select(Person.id).where(Person.local_ref == local_ref)).first() is not None:
        raise Conflict(f"local_ref {local_ref!r} is already in use")
    person = Person(local_ref=local_ref, **fields)
    _refresh_tokens(person, linkage_key)
    session.add(person)
    _flush(session, "person")
    return person


def get_person(*, session: Session, person_id: int) -> Person:
    return _get(session, Person, person_id)


def update_person(
    *,
    session: Session,
    person_id: int,
    changes: Mapping[str, Any],
    linkage_key: LinkageKey | None,
) -> Person:
    person = _get(session, Person, person_id)
    new_ref = changes.get("local_ref")
    if new_ref is not None and new_ref != person.local_ref:
        taken = session.exec(select(Person.id).where(Person.local_ref == new_ref)).first()
        if taken is not None:
            raise Conflict(f"local_ref {new_ref!r} is already in use")
    _apply(person, changes)
    if _IDENTIFYING & changes.keys():
        _refresh_tokens(person, linkage_key)
    session.add(person)
    _flush(session, "person")
    return person


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def list_persons(
    *, session: Session, q: str | None, offset: int, limit: int
) -> tuple[list[Person], int]:
    """Persons, optionally matching ``q``: every word in a name, or the local reference."""
    where: list[ColumnElement[bool]] = []
    words = (q or "").split()
    if words:
        per_word = [
            or_(
                func.lower(Person.family_name).like(f"%{_escape_like(w.lower())}%", escape="\\"),
                func.lower(Person.given_name).like(f"%{_escape_like(w.lower())}%", escape="\\"),
            )
            for w in words
        ]
        exact_ref = col(Person.local_ref) == (q or "").strip()
        where.append(or_(exact_ref, and_(*per_word)))
    return _page(session, Person, where, offset, limit)


# -- needs --------------------------------------------------------------------


def create_need(
    *, session: Session, data: Mapping[str, Any], vocabulary: Vocabulary, recorded_by: str
) -> Need:
    _require_person(session, data["person_id"])
    _check_category(vocabulary, data["category"])
    need = Need(**data, recorded_by=recorded_by)
    session.add(need)
    _flush(session, "need")
    return need


def get_need(*, session: Session, need_id: int) -> Need:
    return _get(session, Need, need_id)


def update_need(
    *, session: Session, need_id: int, changes: Mapping[str, Any], vocabulary: Vocabulary
) -> Need:
    need = _get(session, Need, need_id)
    if changes.get("category") is not None:
        _check_category(vocabulary, changes["category"])
    _apply(need, changes)
    session.add(need)
    _flush(session, "need")
    return need


def list_needs(
    *,
    session: Session,
    person_id: int | None,
    category: str | None,
    status: str | None,
    offset: int,
    limit: int,
) -> tuple[list[Need], int]:
    where: list[ColumnElement[bool]] = []
    if person_id is not None:
        where.append(Need.person_id == person_id)  # type: ignore[arg-type]
    if category is not None:
        where.append(Need.category == category)  # type: ignore[arg-type]
    if status is not None:
        where.append(Need.status == status)  # type: ignore[arg-type]
    return _page(session, Need, where, offset, limit)


# -- actions ------------------------------------------------------------------


def _check_need_belongs(session: Session, need_id: int | None, person_id: int) -> None:
    if need_id is None:
        return
    need = session.get(Need, need_id)
    if need is None:
        raise ValidationFailed(f"need {need_id} does not exist")
    if need.person_id != person_id:
        raise ValidationFailed(f"need {need_id} belongs to a different person")


def create_action(*, session: Session, data: Mapping[str, Any]) -> Action:
    _require_person(session, data["person_id"])
    _check_need_belongs(session, data.get("need_id"), data["person_id"])
    action = Action(**data)
    session.add(action)
    _flush(session, "action")
    return action


def get_action(*, session: Session, action_id: int) -> Action:
    return _get(session, Action, action_id)


def update_action(*, session: Session, action_id: int, changes: Mapping[str, Any]) -> Action:
    action = _get(session, Action, action_id)
    if "need_id" in changes:
        _check_need_belongs(session, changes["need_id"], action.person_id)
    _apply(action, changes)
    session.add(action)
    _flush(session, "action")
    return action


def list_actions(
    *,
    session: Session,
    person_id: int | None,
    need_id: int | None,
    status: str | None,
    offset: int,
    limit: int,
) -> tuple[list[Action], int]:
    where: list[ColumnElement[bool]] = []
    if person_id is not None:
        where.append(Action.person_id == person_id)  # type: ignore[arg-type]
    if need_id is not None:
        where.append(Action.need_id == need_id)  # type: ignore[arg-type]
    if status is not None:
        where.append(Action.status == status)  # type: ignore[arg-type]
    return _page(session, Action, where, offset, limit)


# -- contacts -----------------------------------------------------------------


def create_contact(*, session: Session, data: Mapping[str, Any]) -> Contact:
    _require_person(session, data["person_id"])
    contact = Contact(**data)
    session.add(contact)
    _flush(session, "contact")
    return contact


def get_contact(*, session: Session, contact_id: int) -> Contact:
    return _get(session, Contact, contact_id)


def update_contact(*, session: Session, contact_id: int, changes: Mapping[str, Any]) -> Contact:
    contact = _get(session, Contact, contact_id)
    _apply(contact, changes)
    session.add(contact)
    _flush(session, "contact")
    return contact


def list_contacts(
    *, session: Session, person_id: int | None, offset: int, limit: int
) -> tuple[list[Contact], int]:
    where: list[ColumnElement[bool]] = []
    if person_id is not None:
        where.append(Contact.person_id == person_id)  # type: ignore[arg-type]
    return _page(session, Contact, where, offset, limit)

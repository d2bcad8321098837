"""Request and response bodies for the records API (the FastAPI template's family).

``*Create`` bodies are strict (unknown fields are refused), ``*Update`` bodies have
every field optional (PATCH semantics), ``*Public`` is what staff get back and
``*sPublic`` a page of them with the total ``count``. Linkage tokens are never
returned: they are for matching between nodes, not for people.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, StringConstraints, field_validator
from sqlmodel import Field, SQLModel
from sqlmodel._compat import SQLModelConfig

from node.db import MAX_ROW_ID
from node.records.models import (
    ActionBase,
    ActionStatus,
    ContactBase,
    NeedBase,
    NeedStatus,
    PersonBase,
    Severity,
)

EARLIEST_BIRTH = dt.date(1880, 1, 1)
LOCAL_REF_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._/-]{0,63}$"
LocalRef = Annotated[str, StringConstraints(pattern=LOCAL_REF_PATTERN)]


class _CleanInput(SQLModel):
    """Refuse NUL characters (PostgreSQL cannot store them) and dates in the future."""

    model_config = SQLModelConfig(extra="forbid", str_strip_whitespace=True)

    @field_validator("*", mode="after")
    @classmethod
    def _no_nul(cls, value: Any) -> Any:
        if isinstance(value, str) and "\x00" in value:
            raise ValueError("text must not contain NUL characters")
        return value

    @field_validator("date_of_birth", "since", mode="after", check_fields=False)
    @classmethod
    def _not_in_future(cls, value: dt.date | None) -> dt.date | None:
        if value is not None and value > dt.date.today():
            raise ValueError("date must not be in the future")
        if value is not None and value < EARLIEST_BIRTH:
            raise ValueError(f"date must not be before {EARLIEST_BIRTH.isoformat()}")
        return value


def _examples(*examples: dict[str, Any]) -> SQLModelConfig:
    return SQLModelConfig(
        extra="forbid", str_strip_whitespace=True, json_schema_extra={"examples": list(examples)}
    )


def _public_examples(*examples: dict[str, Any]) -> SQLModelConfig:
    # Response bodies keep SQLModel's defaults (from_attributes); only examples are added.
    return SQLModelConfig(json_schema_extra={"examples": list(examples)})


# Synthetic people only: ZZ99 postcodes and 999-range NHS numbers are never issued.
_WHEN = "2024-09-02T10:15:00Z"
_LATER = "2024-09-09T14:30:00Z"
PERSON_EXAMPLE: dict[str, Any] = {
    "id": 1,
    "local_ref": "CRM-000101",
    "family_name": "Example",
    "given_name": "Alex",
    "date_of_birth": "1990-01-01",
    "postcode": "ZZ99 3AA",
    "national_number": "999 000 0018",
    "created_at": _WHEN,
    "updated_at": _LATER,
}
NEED_EXAMPLE: dict[str, Any] = {
    "id": 7,
    "person_id": 1,
    "category": "housing",
    "description": "Rent arrears after a cut in working hours; eviction notice served.",
    "severity": "high",
    "status": "open",
    "since": "2024-08-15",
    "recorded_by": "5c0ffee1d2a3b4c5",
    "created_at": _WHEN,
    "updated_at": _WHEN,
}
ACTION_EXAMPLE: dict[str, Any] = {
    "id": 12,
    "person_id": 1,
    "need_id": 7,
    "what": "Apply for discretionary housing payment",
    "owner": "Housing options team",
    "status": "active",
    "due": "2024-10-15",
    "created_at": _WHEN,
    "updated_at": _LATER,
}
CONTACT_EXAMPLE: dict[str, Any] = {
    "id": 3,
    "person_id": 1,
    "worker_name": "Sam Sample",
    "role": "Housing officer",
    "how_to_reach": "sam.sample@example.org",
    "organisation": "Example Borough Council",
    "created_at": _WHEN,
    "updated_at": _WHEN,
}


# -- persons ------------------------------------------------------------------


class PersonCreate(_CleanInput, PersonBase):
    model_config = _examples(
        {
            "local_ref": "CRM-004211",
            "family_name": "Okafor",
            "given_name": "Grace",
            "date_of_birth": "1984-03-17",
            "postcode": "LS6 2AB",
            "national_number": "943 476 5919",
        }
    )

    local_ref: LocalRef | None = Field(
        default=None, description="The organisation's own reference; generated when omitted."
    )


class PersonUpdate(_CleanInput):
    model_config = _examples({"postcode": "LS7 1QT"})

    local_ref: LocalRef | None = None
    family_name: str | None = Field(default=None, min_length=1, max_length=200)
    given_name: str | None = Field(default=None, min_length=1, max_length=200)
    date_of_birth: dt.date | None = None
    postcode: str | None = Field(default=None, max_length=16)
    national_number: str | None = Field(default=None, max_length=32)


class PersonPublic(PersonBase):
    model_config = _public_examples(PERSON_EXAMPLE)

    id: int
    local_ref: str
    created_at: dt.datetime
    updated_at: dt.datetime


class PersonsPublic(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={"examples": [{"data": [PERSON_EXAMPLE], "count": 1}]}
    )

    data: list[PersonPublic]
    count: int


# -- needs --------------------------------------------------------------------


class NeedCreate(_CleanInput, NeedBase):
    model_config = _examples(
        {
            "person_id": 1,
            "category": "housing",
            "description": "Rent arrears after loss of hours at work; eviction notice served.",
            "severity": "high",
            "status": "open",
            "since": "2024-09-01",
        }
    )

    person_id: int = Field(ge=1, le=MAX_ROW_ID)
    category: str = Field(max_length=64, description="A category id from the taxonomy.")


class NeedUpdate(_CleanInput):
    model_config = _examples({"status": "in_progress", "severity": "medium"})

    category: str | None = Field(default=None, max_length=64)
    description: str | None = Field(default=None, max_length=4000)
    severity: Severity | None = None
    status: NeedStatus | None = None
    since: dt.date | None = None


class NeedPublic(NeedBase):
    model_config = _public_examples(NEED_EXAMPLE)

    id: int
    person_id: int
    recorded_by: str = Field(description="Pseudonym of the staff member who recorded it.")
    created_at: dt.datetime
    updated_at: dt.datetime


class NeedsPublic(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={"examples": [{"data": [NEED_EXAMPLE], "count": 1}]}
    )

    data: list[NeedPublic]
    count: int


# -- actions ------------------------------------------------------------------


class ActionCreate(_CleanInput, ActionBase):
    model_config = _examples(
        {
            "person_id": 1,
            "need_id": 1,
            "what": "Apply for discretionary housing payment",
            "owner": "Council housing options team",
            "status": "active",
            "due": "2024-10-15",
        }
    )

    person_id: int = Field(ge=1, le=MAX_ROW_ID)
    need_id: int | None = Field(default=None, ge=1, le=MAX_ROW_ID)


class ActionUpdate(_CleanInput):
    model_config = _examples({"status": "done"})

    need_id: int | None = Field(default=None, ge=1, le=MAX_ROW_ID)
    what: str | None = Field(default=None, min_length=1, max_length=2000)
    owner: str | None = Field(default=None, min_length=1, max_length=200)
    status: ActionStatus | None = None
    due: dt.date | None = None


class ActionPublic(ActionBase):
    model_config = _public_examples(ACTION_EXAMPLE)

    id: int
    person_id: int
    need_id: int | None
    created_at: dt.datetime
    updated_at: dt.datetime


class ActionsPublic(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={"examples": [{"data": [ACTION_EXAMPLE], "count": 1}]}
    )

    data: list[ActionPublic]
    count: int


# -- contacts -----------------------------------------------------------------


class ContactCreate(_CleanInput, ContactBase):
    model_config = _examples(
        {
            "person_id": 1,
            "worker_name": "Sam Reid",
            "role": "Housing officer",
            "how_to_reach": "0113 496 0000, Mon-Fri 9-5",
            "organisation": "Leeds City Council",
        }
    )

    person_id: int = Field(ge=1, le=MAX_ROW_ID)


class ContactUpdate(_CleanInput):
    model_config = _examples({"how_to_reach": "sam.reid@example.org"})

    worker_name: str | None = Field(default=None, min_length=1, max_length=200)
    role: str | None = Field(default=None, max_length=200)
    how_to_reach: str | None = Field(default=None, max_length=500)
    organisation: str | None = Field(default=None, max_length=200)


class ContactPublic(ContactBase):
    model_config = _public_examples(CONTACT_EXAMPLE)

    id: int
    person_id: int
    created_at: dt.datetime
    updated_at: dt.datetime


class ContactsPublic(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={"examples": [{"data": [CONTACT_EXAMPLE], "count": 1}]}
    )

    data: list[ContactPublic]
    count: int

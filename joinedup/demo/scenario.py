"""The demo scenario as typed data, loaded from ``scenario.yaml``.

The story (who the people are, which organisation knows what, who is enrolled,
what consent is in force, what the tour grants) lives in YAML so it can be read
and changed without reading code; these models check it on load.
"""

from __future__ import annotations

import datetime as dt
from importlib import resources
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, Field

from federation.catalogue import ServiceEntry
from federation.vocabulary import ActionId, CategoryId, OrgKindId, PurposeId, RoleId


class Organisation(BaseModel):
    org_id: str
    name: str
    kind: OrgKindId


class StaffAccount(BaseModel):
    username: str
    role: RoleId
    display_name: str = ""


class PersonDetails(BaseModel):
    family_name: str
    given_name: str
    date_of_birth: dt.date
    postcode: str | None = None
    national_number: str | None = None
    summary: str = ""


class ActionSpec(BaseModel):
    what: str
    owner: str
    status: str = "proposed"
    due_in_days: int | None = None


class NeedSpec(BaseModel):
    key: str
    category: CategoryId
    description: str = ""
    severity: str = "medium"
    status: str = "open"
    since_days_ago: int = Field(ge=0)
    actions: list[ActionSpec] = Field(default_factory=list)


class ContactSpec(BaseModel):
    worker_name: str
    role: str = ""
    how_to_reach: str = ""
    organisation: str = ""


class RecordSpec(BaseModel):
    person: str
    local_ref: str
    needs: list[NeedSpec] = Field(default_factory=list)
    contacts: list[ContactSpec] = Field(default_factory=list)


class Enrolment(BaseModel):
    person: str
    via: str


class CustomerSpec(BaseModel):
    person: str
    username: str


class Provision(BaseModel):
    purposes: list[PurposeId]
    recipients: list[str]
    categories: list[CategoryId]
    actions: list[ActionId]


class ConsentSpec(BaseModel):
    person: str
    provisions: list[Provision]


class ReferralSpec(BaseModel):
    """A referral the seed makes through the staff API and works at the receiver.

    ``outcome`` None leaves it open (accepted, with its worker); an outcome code
    (``policies/act/data.json`` ``referral.outcomes``) completes it.
    """

    person: str
    sender: str
    receiver: str
    category: str
    purpose: str = "care_coordination"
    urgency: Literal["routine", "urgent", "emergency"] = "routine"
    reason: str
    person_told: str
    worker: str
    outcome: str | None = None
    outcome_note: str = ""


class TourView(BaseModel):
    org: str
    username: str
    person: str


class Tour(BaseModel):
    view_as: TourView
    grant: Provision


class Scenario(BaseModel):
    password: str = Field(min_length=10)
    organisations: list[Organisation]
    staff: list[StaffAccount]
    people: dict[str, PersonDetails]
    records: dict[str, list[RecordSpec]]
    enrolments: list[Enrolment]
    customers: list[CustomerSpec]
    consents: list[ConsentSpec]
    referrals: list[ReferralSpec] = Field(default_factory=list)
    tour: Tour
    # Each organisation's services in the needs guide (node/guide).
    services: dict[str, list[ServiceEntry]] = Field(default_factory=dict)

    def organisation(self, org_id: str) -> Organisation:
        for org in self.organisations:
            if org.org_id == org_id:
                return org
        raise KeyError(org_id)


def load_scenario(path: Path | None = None) -> Scenario:
    """The bundled scenario, or the one at ``path``."""
    if path is None:
        text = resources.files("joinedup.demo").joinpath("scenario.yaml").read_text()
    else:
        text = Path(path).read_text()
    return Scenario.model_validate(yaml.safe_load(text))

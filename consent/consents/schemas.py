"""Request and response bodies for consents (the FastAPI template's schema family).

``ConsentGrant`` is what a customer sends for their own consent; ``ConsentCreate``
adds the ``subject_id`` for a member node recording consent on a present customer's
behalf (docs/protocol.md action ``grant``). ``ConsentUpdate`` amends (all optional).
Purposes, categories and actions are closed vocabularies, read from the taxonomy data
(``federation.vocabulary``): anything else is a 422.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, StringConstraints, model_validator

from consent.subjects.schemas import SubjectId
from federation.vocabulary import ORG_ID_PATTERN, ActionId, CategoryId, PurposeId
from federation.wire.consent import GrantConsent, GrantProvision, RevokeConsent

# The vocabulary in force (federation.vocabulary): validated, never listed here.
Purpose = PurposeId
Category = CategoryId
Action = ActionId
# A bound on a provision's lists before each entry is checked; duplicates are dropped,
# so the vocabulary's size is the real limit and it may grow without a change here.
MAX_TERMS = 64
OrgId = Annotated[str, StringConstraints(pattern=ORG_ID_PATTERN)]
GrantorName = Annotated[str, StringConstraints(min_length=1, max_length=200, strip_whitespace=True)]


# Synthetic ids throughout: ``sub_``/``cns_`` ids as the service mints them, and
# recipients as registry org ids. No null values: FastAPI drops them from OpenAPI.
_SUBJECT = "sub_Q2xZ9kR4tV7mN1pA"
_CONSENT = "cns_8fK3wL0sYb2HdJ6e"
_PROVISION: dict[str, Any] = {
    "purposes": ["care_coordination"],
    "recipients": ["council-a", "gp-example"],
    "categories": ["housing", "income"],
    "actions": ["read"],
}
_GRANT: dict[str, Any] = {
    "grantor_kind": "customer",
    "period_start": "2024-09-02T10:15:00Z",
    "period_end": "2025-09-02T10:15:00Z",
    "provisions": [_PROVISION],
}
_CONSENT_PUBLIC: dict[str, Any] = {
    "id": _CONSENT,
    "subject_id": _SUBJECT,
    "status": "active",
    "grantor_kind": "advocate",
    "grantor_name": "Jo Sample",
    "recorded_by": "customer",
    "period_start": "2024-09-02T10:15:00Z",
    "period_end": "2025-09-02T10:15:00Z",
    "version": 1,
    "created_at": "2024-09-02T10:15:00Z",
    "updated_at": "2024-09-02T10:15:00Z",
    "provisions": [_PROVISION],
}


def _examples(*examples: dict[str, Any]) -> ConfigDict:
    return ConfigDict(json_schema_extra={"examples": list(examples)})


def _unique(values: list[Any]) -> list[Any]:
    return list(dict.fromkeys(values))


class ProvisionBase(GrantProvision):
    """One permit: these recipients may do these actions on these categories for these purposes.

    The wire's provision (``federation.wire.consent``) with this service's vocabulary.
    """

    purposes: list[Purpose] = Field(min_length=1, max_length=MAX_TERMS)
    recipients: list[OrgId] = Field(min_length=1, max_length=100)
    categories: list[Category] = Field(min_length=1, max_length=MAX_TERMS)
    actions: list[Action] = Field(min_length=1, max_length=MAX_TERMS)

    @model_validator(mode="after")
    def _dedupe(self) -> ProvisionBase:
        self.purposes = _unique(self.purposes)
        self.recipients = _unique(self.recipients)
        self.categories = _unique(self.categories)
        self.actions = _unique(self.actions)
        return self


class ProvisionCreate(ProvisionBase):
    pass


class ProvisionPublic(BaseModel):
    """A stored provision as given back: plain ids, so a term later dropped from the
    vocabulary still reads back (the policies simply no longer match it)."""

    purposes: list[str]
    recipients: list[str]
    categories: list[str]
    actions: list[str]


def _check_grantor(kind: str | None, name: str | None) -> None:
    if kind == "advocate" and not name:
        raise ValueError("an advocate grantor needs grantor_name")
    if kind == "customer" and name:
        raise ValueError("grantor_name is only for an advocate")


def _check_period(start: dt.datetime | None, end: dt.datetime | None) -> None:
    if start is not None and end is not None and end <= start:
        raise ValueError("period_end must be after period_start")


class ConsentGrant(BaseModel):
    """A new consent for the caller's own subject (customer API)."""

    model_config = _examples(
        _GRANT,
        {
            "grantor_kind": "advocate",
            "grantor_name": "Jo Sample",
            "provisions": [{**_PROVISION, "purposes": ["safeguarding", "referral"]}],
        },
    )

    grantor_kind: Literal["customer", "advocate"] = "customer"
    grantor_name: GrantorName | None = None
    period_start: AwareDatetime | None = Field(default=None, description="default: now")
    period_end: AwareDatetime | None = None
    provisions: list[ProvisionCreate] = Field(min_length=1, max_length=20)

    @model_validator(mode="after")
    def _check(self) -> ConsentGrant:
        _check_grantor(self.grantor_kind, self.grantor_name)
        _check_period(self.period_start, self.period_end)
        return self


class ConsentCreate(ConsentGrant, GrantConsent):
    """A new consent recorded by a member node for ``subject_id``: the ``grant`` message.

    The wire message (``federation.wire.consent.GrantConsent``) with the provisions
    and checks of ``ConsentGrant``.
    """

    model_config = _examples({**_GRANT, "subject_id": _SUBJECT})

    subject_id: SubjectId


class ConsentUpdate(BaseModel):
    """An amendment; fields left out keep their value. Provisions, if given, replace all."""

    model_config = _examples(
        {"period_end": "2025-03-01T00:00:00Z"},
        {"provisions": [{**_PROVISION, "categories": ["housing"]}]},
    )

    grantor_kind: Literal["customer", "advocate"] | None = None
    grantor_name: GrantorName | None = None
    period_start: AwareDatetime | None = None
    period_end: AwareDatetime | None = None
    provisions: list[ProvisionCreate] | None = Field(default=None, min_length=1, max_length=20)

    @model_validator(mode="after")
    def _check(self) -> ConsentUpdate:
        _check_period(self.period_start, self.period_end)
        return self


class ConsentPublic(BaseModel):
    model_config = _examples(_CONSENT_PUBLIC)

    id: str
    subject_id: str
    status: Literal["active", "inactive", "rejected"]
    grantor_kind: Literal["customer", "advocate"]
    grantor_name: str | None
    recorded_by: str
    period_start: dt.datetime
    period_end: dt.datetime | None
    version: int
    created_at: dt.datetime
    updated_at: dt.datetime
    provisions: list[ProvisionPublic]


class ConsentsPublic(BaseModel):
    model_config = _examples({"data": [_CONSENT_PUBLIC], "count": 1})

    data: list[ConsentPublic]
    count: int


class ConsentEventPublic(BaseModel):
    kind: Literal["granted", "amended", "revoked"]
    at: dt.datetime
    actor: str
    snapshot: dict[str, Any]


class ConsentHistoryPublic(BaseModel):
    model_config = _examples(
        {
            "consent_id": _CONSENT,
            "data": [
                {
                    "kind": "granted",
                    "at": "2024-09-02T10:15:00Z",
                    "actor": "customer",
                    "snapshot": _CONSENT_PUBLIC,
                }
            ],
            "count": 1,
        }
    )

    consent_id: str
    data: list[ConsentEventPublic]
    count: int


# A member's ``revoke_consent`` request is the wire message its sender builds.
RevokeRequest = RevokeConsent

"""Request and answer models of the guide's staff API (the catalogue itself is
``federation.catalogue``: one model for the publisher, the partners and this API)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from federation.catalogue import (
    Capacity,
    Contact,
    Eligibility,
    HowToAsk,
    NoNulModel,
    ServiceEntry,
)


class ServiceUpdate(NoNulModel):
    """Fields to change on a service; omitted ones stay as they are."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"capacity": "waiting_list", "typical_wait_days": 14}]},
    )

    name: str | None = Field(default=None, min_length=1, max_length=200)
    description: str | None = Field(default=None, max_length=4_000)
    categories: list[str] | None = Field(default=None, min_length=1, max_length=20)
    eligibility: Eligibility | None = None
    how_to_ask: HowToAsk | None = None
    contact: Contact | None = None
    opening_hours: str | None = Field(default=None, max_length=500)
    roles: list[str] | None = Field(default=None, max_length=30)
    capacity: Capacity | None = None
    typical_wait_days: int | None = Field(default=None, ge=0, le=3_650)

    def changes(self) -> dict[str, Any]:
        return self.model_dump(mode="json", exclude_unset=True)


_EXAMPLE = ServiceEntry.model_json_schema()["examples"][0]


class ServicePublic(ServiceEntry):
    """A service as this node publishes it (every field, defaults included)."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [ServiceEntry.model_validate(_EXAMPLE).model_dump(mode="json")]
        },
    )


class ServicesPublic(BaseModel):
    data: list[ServiceEntry]
    count: int


class CataloguePublic(BaseModel):
    """This node's published catalogue: what partners fetch."""

    version: int
    etag: str
    published_at: dt.datetime
    services: int


class GuideSourcePublic(BaseModel):
    """One organisation's part of the guide and how fresh it is."""

    org_id: str
    name: str
    version: int
    checked_at: dt.datetime | None
    failed_at: dt.datetime | None
    last_error: str | None
    stale: bool


class GuideSourcesPublic(BaseModel):
    data: list[GuideSourcePublic]
    count: int


class GuideHitPublic(BaseModel):
    """A service that may help, with its organisation and how fresh its catalogue is."""

    org_id: str
    org_name: str
    service: ServiceEntry
    catalogue_version: int
    checked_at: dt.datetime | None
    stale: bool = Field(description="The organisation could not be reached at the last try.")
    referral_url: str | None = Field(
        description="Staff page that starts a referral to this service (if it takes them)."
    )


class GuideSearchPublic(BaseModel):
    data: list[GuideHitPublic]
    count: int


class AnnounceReceived(BaseModel):
    status: str = "refresh_queued"

"""A member's service catalogue: what it can do, indexed by need (the needs guide).

Each organisation publishes one catalogue of its services; every node assembles
the federation's guide from its partners' catalogues (``node.guide``). The fields
follow the Open Referral UK / HSDS vocabulary where it fits (``service`` with
``name``, ``description``, ``eligibility``, ``contacts``, ``schedules``;
``service_area`` as postcode districts); joinedup adds the need categories served
(the federation's taxonomy), how to ask (referrals through joinedup, urgencies and
response targets), the roles and skills involved and the current capacity.

A published catalogue travels as ``{"catalogue": {...}, "signature": "<JWS>"}``:
the readable document beside a compact JWS (RFC 7515, Ed25519, typ
``joinedup-catalogue+jwt``) signed by the publishing member, whose claims name
the publisher (``iss``), the version (``ver``) and the SHA-256 of the document's
canonical JSON (``sha256``; sorted keys, no spaces, UTF-8). Any member verifies it
with the publisher's keys from the signed member registry, so a copy fetched
through anyone, or kept from last week, is still checkable; the signature stays
small however many services the document holds.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
from collections.abc import Collection
from dataclasses import dataclass
from typing import Any, Literal

from nacl.signing import SigningKey
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from federation.errors import PeerSignatureInvalid
from federation.jose import sign_jwt, verify_jwt
from federation.keys import b64encode
from federation.registry import ORG_ID_PATTERN, Registry

CATALOGUE_TYP = "joinedup-catalogue+jwt"
Capacity = Literal["open", "waiting_list", "closed"]
# Sort order for "who can take this on soonest".
CAPACITY_RANK: dict[str, int] = {"open": 0, "waiting_list": 1, "closed": 2}
Urgency = Literal["routine", "soon", "urgent", "emergency"]
MAX_SERVICES = 5_000
# A UK postcode district ("outward code"): LS1, M60, SW1A, EC1V.
DISTRICT_PATTERN = r"^[A-Z]{1,2}[0-9][0-9A-Z]?$"
_DISTRICT = re.compile(DISTRICT_PATTERN)
_SPACE = re.compile(r"\s+")
_FULL_POSTCODE = re.compile(r".+[0-9][A-Z]{2}")
MAX_AGE = 130
SERVICE_ID_PATTERN = r"^[A-Za-z0-9._-]+$"
# Validation context key: the value was checked before it was stored (no NUL scan).
STORED = "stored"


class CatalogueInvalid(PeerSignatureInvalid):
    """A catalogue that does not verify, or whose content is not a catalogue."""


def postcode_district(postcode: str) -> str | None:
    """The district of a full postcode or a bare district ("ls1 4ap" → "LS1"); None if neither."""
    compact = _SPACE.sub("", postcode or "").upper()
    if not compact:
        return None
    # A full postcode ends in a digit and two letters (the inward code).
    outward = compact[:-3] if _FULL_POSTCODE.fullmatch(compact) else compact
    return outward if _DISTRICT.match(outward) else None


def _has_nul(value: Any) -> bool:
    """Whether any string in a JSON-like value holds NUL (a loop, not recursion: a
    catalogue has thousands of small services, each checked once)."""
    stack = [value]
    while stack:
        item = stack.pop()
        kind = type(item)
        if kind is str:
            if "\x00" in item:
                return True
        elif kind is dict:
            stack.extend(item.keys())
            stack.extend(item.values())
        elif kind is list or kind is tuple:
            stack.extend(item)
    return False


class CatalogueModel(BaseModel):
    """Strict models: unknown fields refused."""

    model_config = ConfigDict(extra="forbid")


class NoNulModel(CatalogueModel):
    """A model whose text, nested models' included, may not hold NUL characters (no
    database stores them); checked once at the outermost model, not at every level."""

    @model_validator(mode="before")
    @classmethod
    def _no_nul(cls, value: Any, info: ValidationInfo) -> Any:
        # A document this node stored after checking it is read back unchecked.
        if info.context and info.context.get(STORED):
            return value
        if _has_nul(value):
            raise ValueError("text may not contain NUL characters")
        return value


class Eligibility(CatalogueModel):
    """Who the service is for: structured where it can be checked, plus free text."""

    min_age: int | None = Field(default=None, ge=0, le=MAX_AGE)
    max_age: int | None = Field(default=None, ge=0, le=MAX_AGE)
    postcode_districts: list[str] = Field(
        default_factory=list,
        max_length=500,
        description="Service area as postcode districts (e.g. LS1); empty means anywhere.",
    )
    criteria: dict[str, str | int | bool] = Field(
        default_factory=dict, max_length=50, description="Other criteria as data."
    )
    description: str = Field(default="", max_length=2_000)

    @field_validator("postcode_districts")
    @classmethod
    def _districts(cls, values: list[str]) -> list[str]:
        out: list[str] = []
        for value in values:
            district = postcode_district(value)
            if district is None or district != _SPACE.sub("", value).upper():
                raise ValueError(f"{value!r} is not a postcode district such as LS1")
            if district not in out:
                out.append(district)
        return out

    @model_validator(mode="after")
    def _age_range(self) -> Eligibility:
        if self.min_age is not None and self.max_age is not None and self.min_age > self.max_age:
            raise ValueError("min_age is above max_age")
        return self

    def admits(self, *, age: int | None = None, district: str | None = None) -> bool:
        """Whether a person of ``age`` living in ``district`` is eligible (unknown passes)."""
        if age is not None:
            if self.min_age is not None and age < self.min_age:
                return False
            if self.max_age is not None and age > self.max_age:
                return False
        if district is not None and self.postcode_districts:
            return district in self.postcode_districts
        return True


def _routine_only() -> list[Urgency]:
    return ["routine"]


class HowToAsk(CatalogueModel):
    """How a worker asks the service to act."""

    accepts_referrals: bool = Field(default=True, description="Takes referrals through joinedup.")
    urgencies: list[Urgency] = Field(default_factory=_routine_only, max_length=4)
    response_targets: dict[Urgency, str] = Field(
        default_factory=dict, description="Urgency → response target, e.g. '2 working days'."
    )
    self_referral: bool = False
    notes: str = Field(default="", max_length=1_000)


class Contact(CatalogueModel):
    """The service's public contact point (never a person's private details)."""

    name: str = Field(default="", max_length=200)
    phone: str = Field(default="", max_length=50)
    email: str = Field(default="", max_length=200)
    url: str = Field(default="", max_length=500)
    address: str = Field(default="", max_length=500)


class ServiceEntry(NoNulModel):
    """One service as published (HSDS ``service`` with joinedup's additions)."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "id": "tenancy-rescue",
                    "name": "Tenancy rescue",
                    "description": "Keeps tenants in their homes: arrears, repairs, disputes.",
                    "categories": ["housing", "income"],
                    "eligibility": {"min_age": 16, "postcode_districts": ["LS1", "LS2"]},
                    "how_to_ask": {
                        "accepts_referrals": True,
                        "urgencies": ["routine", "urgent"],
                        "response_targets": {"urgent": "same working day"},
                    },
                    "contact": {"phone": "0113 496 0100"},
                    "opening_hours": "Mon-Fri 9:00-17:00",
                    "roles": ["tenancy support officer"],
                    "capacity": "waiting_list",
                    "typical_wait_days": 10,
                }
            ]
        },
    )

    id: str = Field(min_length=1, max_length=64, pattern=SERVICE_ID_PATTERN)
    name: str = Field(min_length=1, max_length=200)
    description: str = Field(default="", max_length=4_000)
    categories: list[str] = Field(min_length=1, max_length=20)
    eligibility: Eligibility = Field(default_factory=Eligibility)
    how_to_ask: HowToAsk = Field(default_factory=HowToAsk)
    contact: Contact = Field(default_factory=Contact)
    opening_hours: str = Field(default="", max_length=500)
    roles: list[str] = Field(default_factory=list, max_length=30)
    capacity: Capacity = "open"
    typical_wait_days: int | None = Field(default=None, ge=0, le=3_650)
    updated_at: dt.datetime | None = None

    @field_validator("categories")
    @classmethod
    def _unique_categories(cls, values: list[str]) -> list[str]:
        return list(dict.fromkeys(values))


class CatalogueDocument(CatalogueModel):
    """A member's whole catalogue at one version."""

    org_id: str = Field(pattern=ORG_ID_PATTERN)
    version: int = Field(ge=1)
    issued_at: dt.datetime
    services: list[ServiceEntry] = Field(max_length=MAX_SERVICES)

    @field_validator("services")
    @classmethod
    def _unique_ids(cls, services: list[ServiceEntry]) -> list[ServiceEntry]:
        if len({s.id for s in services}) != len(services):
            raise ValueError("two services share an id")
        return services


def _canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def canonical_bytes(document: dict[str, Any]) -> bytes:
    """The canonical JSON the signature's digest covers (sorted keys, compact, UTF-8)."""
    return _canonical(document).encode("utf-8")


def sha256_b64(text: str) -> str:
    return b64encode(hashlib.sha256(text.encode("utf-8")).digest())


def catalogue_digest(document: dict[str, Any]) -> str:
    return b64encode(hashlib.sha256(canonical_bytes(document)).digest())


def service_digest(service: dict[str, Any]) -> str:
    """The SHA-256 of one service's canonical JSON: equal digests, equal services."""
    return sha256_b64(_canonical(service))


def _digests(readable: dict[str, Any]) -> tuple[str, list[str]]:
    """The catalogue's digest and each service's, from one pass of canonical encoding.

    The canonical text of the whole document is assembled from its services' own
    canonical texts (exactly what ``json.dumps(sort_keys=True)`` writes), so the
    per-service digests cost one extra hash each, not a second encoding.
    """
    services = readable.get("services")
    texts = [_canonical(s) for s in services] if isinstance(services, list) else []
    parts = []
    for key in sorted(readable):
        value = "[" + ",".join(texts) + "]" if key == "services" and texts else None
        parts.append(_canonical(key) + ":" + (value or _canonical(readable[key])))
    whole = "{" + ",".join(parts) + "}"
    return sha256_b64(whole), [sha256_b64(text) for text in texts]


def catalogue_etag(version: int, digest: str) -> str:
    """A strong ETag (RFC 9110 §8.8.3) naming the version and the content."""
    return f'"v{version}-{digest[:22]}"'


def sign_catalogue(document: CatalogueDocument, signing_key: SigningKey) -> dict[str, Any]:
    """The published form: the readable document and the publisher's JWS over its digest."""
    readable = document.model_dump(mode="json")
    claims = {
        "iss": document.org_id,
        "ver": document.version,
        "iat": int(document.issued_at.timestamp()),
        "sha256": catalogue_digest(readable),
    }
    return {"catalogue": readable, "signature": sign_jwt(claims, signing_key, typ=CATALOGUE_TYP)}


class CatalogueHeader(CatalogueModel):
    """A catalogue's own fields, checked apart from its services."""

    model_config = ConfigDict(extra="ignore")

    org_id: str = Field(pattern=ORG_ID_PATTERN)
    version: int = Field(ge=1)
    issued_at: dt.datetime
    services: list[dict[str, Any]] = Field(max_length=MAX_SERVICES)


@dataclass(frozen=True)
class VerifiedService:
    """One service of a verified catalogue: its digest, as received, and its model
    (None when the caller already holds a service with that digest: not re-checked)."""

    digest: str
    raw: dict[str, Any]
    entry: ServiceEntry | None


@dataclass(frozen=True)
class VerifiedCatalogue:
    org_id: str
    version: int
    issued_at: dt.datetime
    services: list[VerifiedService]


def verify_catalogue_parts(
    signed: Any, *, registry: Registry, publisher: str, known: Collection[str] = ()
) -> VerifiedCatalogue:
    """Check a published catalogue from ``publisher``; ``CatalogueInvalid`` on any defect.

    The signature must verify under the publisher's keys in the registry, name the
    publisher and the document's version, and cover exactly the readable document.
    Services whose digest is in ``known`` (services the caller verified before and
    holds) are covered by the signature like the rest but not validated again, so
    taking in a catalogue where one service of 2,000 changed costs one validation.
    """
    if not isinstance(signed, dict) or not isinstance(signed.get("catalogue"), dict):
        raise CatalogueInvalid("not a published catalogue")
    try:
        claims = verify_jwt(
            str(signed.get("signature", "")), registry.verify_keys(publisher), typ=CATALOGUE_TYP
        )
    except PeerSignatureInvalid as exc:
        raise CatalogueInvalid("the catalogue's signature does not verify") from exc
    readable = signed["catalogue"]
    if claims.get("iss") != publisher or readable.get("org_id") != publisher:
        raise CatalogueInvalid("the catalogue is not the publisher's own")
    try:
        digest, digests = _digests(readable)
    except (TypeError, ValueError) as exc:
        raise CatalogueInvalid("the catalogue cannot be encoded canonically") from exc
    if claims.get("sha256") != digest:
        raise CatalogueInvalid("the catalogue differs from the one its publisher signed")
    if claims.get("ver") != readable.get("version"):
        raise CatalogueInvalid("the catalogue's version differs from the signed one")
    try:
        header = CatalogueHeader.model_validate(readable)
        if set(readable) - set(CatalogueHeader.model_fields):
            raise CatalogueInvalid("the catalogue has fields this node does not know")
        services = [
            VerifiedService(d, raw, None if d in known else ServiceEntry.model_validate(raw))
            for d, raw in zip(digests, header.services, strict=True)
        ]
    except ValidationError as exc:
        raise CatalogueInvalid(f"catalogue malformed: {exc.error_count()} error(s)") from exc
    ids = [s.raw.get("id") for s in services]
    if len(set(ids)) != len(ids):
        raise CatalogueInvalid("catalogue malformed: two services share an id")
    return VerifiedCatalogue(header.org_id, header.version, header.issued_at, services)


def verify_catalogue(signed: Any, *, registry: Registry, publisher: str) -> CatalogueDocument:
    """``verify_catalogue_parts`` with every service checked, as one document."""
    parts = verify_catalogue_parts(signed, registry=registry, publisher=publisher)
    return CatalogueDocument(
        org_id=parts.org_id,
        version=parts.version,
        issued_at=parts.issued_at,
        services=[s.entry for s in parts.services if s.entry is not None],
    )

"""Request and response models of the audit API (the FastAPI template's family pattern).

``AuditEntryPublic`` is what auditors and customers see of an entry: the audit row
as stored, which by construction holds no personal data beyond the opaque
``subject_id``. ``ProvenEntry`` pairs the canonical entry with its inclusion proof
against a signed tree head, so a reader can check it with ``federation.tree_head``
alone (docs/audit.md).
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from federation.tree_head import InclusionProof

Decision = Literal["allow", "deny", "error", "info"]
Kind = Literal[
    "view_requested",
    "share_decided",
    "referral",
    "consent_check",
    "login",
    "admin_change",
    "link",
    "revocation_received",
    "customer_notice",
    "staff_lookup",
    "aggregate_requested",
    "aggregate_decided",
    "aggregate_contributed",
    "aggregate_answered",
    "referral_sent",
    "referral_received",
    "referral_refused",
    "referral_status_sent",
    "referral_status_received",
]


# Synthetic values only: an opaque subject id, a staff pseudonym, a made-up hash.
_ENTRY: dict[str, Any] = {
    "seq": 41,
    "recorded_at": "2024-09-02T10:15:00Z",
    "request_id": "req_01J6Z8X4K2M9",
    "kind": "share_decided",
    "actor_org": "gp-example",
    "actor_staff": "5c0ffee1d2a3b4c5",
    "actor_role": "frontline",
    "subject_id": "sub_Q2xZ9kR4tV7mN1pA",
    "purpose": "care_coordination",
    "action": "read",
    "decision": "allow",
    "categories": ["housing"],
    "reason": "consent cns_8fK3wL0sYb2HdJ6e permits housing for care_coordination",
    "emergency": False,
    "holder_org": "council-a",
}
_TREE_HEAD: dict[str, Any] = {
    "org_id": "council-a",
    "tree_size": 42,
    "root_hash": "9f2b" + "0" * 56 + "c0de",
    "timestamp_ms": 1725272100000,
    "kid": "a1b2c3d4e5f60718",
    "jws": "eyJhbGciOiJFZERTQSJ9.eyJ0cmVlX3NpemUiOjQyfQ.c2lnbmF0dXJl",
}


def _examples(*examples: dict[str, Any], from_attributes: bool = False) -> ConfigDict:
    return ConfigDict(
        from_attributes=from_attributes, json_schema_extra={"examples": list(examples)}
    )


class AuditFilter(BaseModel):
    """Filters an auditor may combine; all optional, all must hold."""

    since: dt.datetime | None = Field(default=None, description="recorded at or after (UTC)")
    until: dt.datetime | None = Field(default=None, description="recorded before (UTC)")
    subject_id: str | None = Field(default=None, max_length=128)
    actor_org: str | None = Field(default=None, max_length=64)
    actor_staff: str | None = Field(default=None, max_length=128)
    purpose: str | None = Field(default=None, max_length=64)
    decision: Decision | None = None
    emergency: bool | None = None
    kind: Kind | None = None
    request_id: str | None = Field(default=None, max_length=128)

    @field_validator("since", "until")
    @classmethod
    def _assume_utc(cls, value: dt.datetime | None) -> dt.datetime | None:
        # A time without a zone is read as UTC, as every audit time is stored.
        if value is not None and value.tzinfo is None:
            return value.replace(tzinfo=dt.UTC)
        return value

    @field_validator("subject_id", "actor_org", "actor_staff", "purpose", "request_id")
    @classmethod
    def _no_nul(cls, value: str | None) -> str | None:
        # No stored value can hold a NUL, and PostgreSQL refuses one in a query.
        if value is not None and "\x00" in value:
            raise ValueError("must not contain NUL")
        return value


class AuditEntryPublic(BaseModel):
    """One audit entry as stored (leaf ``seq`` of the node's Merkle tree)."""

    model_config = _examples(_ENTRY, from_attributes=True)

    seq: int
    recorded_at: dt.datetime
    request_id: str
    kind: str
    actor_org: str
    actor_staff: str | None
    actor_role: str | None
    subject_id: str | None
    purpose: str | None
    action: str | None
    decision: str
    categories: list[str]
    reason: str
    emergency: bool
    holder_org: str | None
    emergency_basis: str | None = Field(
        default=None, description="emergency access only: the basis invoked, e.g. vital_interests"
    )
    justification: str | None = Field(
        default=None, description="emergency access only: the staff member's written reason"
    )


class AuditEntriesPublic(BaseModel):
    model_config = _examples({"data": [_ENTRY], "count": 1})

    data: list[AuditEntryPublic]
    count: int


class TreeHeadPublic(BaseModel):
    """A signed tree head: keep the ``jws``; it is what proves the node said this."""

    model_config = _examples(_TREE_HEAD, from_attributes=True)

    org_id: str
    tree_size: int
    root_hash: str
    timestamp_ms: int
    kid: str
    jws: str


class TreeHeadsPublic(BaseModel):
    model_config = _examples({"latest": _TREE_HEAD, "data": [_TREE_HEAD], "count": 1})

    latest: TreeHeadPublic | None
    data: list[TreeHeadPublic]
    count: int


class ProvenEntry(BaseModel):
    """An entry's canonical form and its inclusion proof against ``tree_head``."""

    entry: dict[str, Any] = Field(description="canonical entry: its JCS bytes are the leaf")
    proof: InclusionProof


class ProvenEntries(BaseModel):
    """Entries from one node with proofs against that node's latest signed tree head."""

    org_id: str
    tree_head: TreeHeadPublic | None
    entries: list[ProvenEntry]
    truncated: bool = False

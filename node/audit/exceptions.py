"""Audit domain errors (all ``federation.errors.JoinedUpError``, so problem+json).

BadRequest
├── ProofUnavailable        400  a proof for a size or index the log does not have
└── ValidationFailed
    └── AuditEntryInvalid   422  an entry record_audit refuses (also a ValueError):
                                 the transaction it belongs to fails, nothing is
                                 released without its audit entry
"""

from __future__ import annotations

from federation.errors import BadRequest, ValidationFailed


class ProofUnavailable(BadRequest):
    title = "Proof unavailable"
    type_slug = "proof-unavailable"


class AuditEntryInvalid(ValidationFailed, ValueError):
    title = "Audit entry invalid"
    type_slug = "audit-entry-invalid"

"""Audit domain errors (all ``federation.errors.JoinedUpError``, so problem+json).

JoinedUpError
├── BadRequest
│   ├── ProofUnavailable        400  a proof for a size or index the log does not have
│   └── ValidationFailed
│       └── AuditEntryInvalid   422  an entry record_audit refuses (also a ValueError):
│                                    the transaction it belongs to fails, nothing is
│                                    released without its audit entry
├── AuditUnavailable            503  the audit entry could not be written, so what it
│                                    records (a view, a share answer) is withheld
└── AuditSigningHalted          503  the log was tampered with since the last signed
                                     tree head: no head is signed until an operator acts
"""

from __future__ import annotations

from federation.errors import BadRequest, JoinedUpError, ValidationFailed


class ProofUnavailable(BadRequest):
    title = "Proof unavailable"
    type_slug = "proof-unavailable"


class AuditEntryInvalid(ValidationFailed, ValueError):
    title = "Audit entry invalid"
    type_slug = "audit-entry-invalid"


class AuditUnavailable(JoinedUpError):
    status_code = 503
    title = "Audit unavailable"
    type_slug = "audit-unavailable"


class AuditSigningHalted(JoinedUpError):
    status_code = 503
    title = "Audit signing halted"
    type_slug = "audit-signing-halted"

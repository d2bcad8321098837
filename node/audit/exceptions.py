"""Audit domain errors (all ``federation.errors.JoinedUpError``, so problem+json).

BadRequest
└── ProofUnavailable        400  a proof for a size or index the log does not have
"""

from __future__ import annotations

from federation.errors import BadRequest


class ProofUnavailable(BadRequest):
    title = "Proof unavailable"
    type_slug = "proof-unavailable"

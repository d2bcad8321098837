"""Enrolment statements: the consent service's word that linkage tokens belong to a subject.

A partner that receives a ``link`` request (DESIGN "Identity and linkage") must not
take the requester's word for which subject a set of linkage tokens describes:
a member that knew a person's identifiers could otherwise send another subject's
id with that person's tokens, and the partner would attach its record of the
person to the wrong subject, whose views would then carry it. So the consent
service, which alone maps tokens to subjects, answers an ``enrol`` request with a
short-lived statement signed with its Ed25519 key (a JWS, RFC 7515, compact form):

    {"iss": "consent", "sub": subject_id, "aud": enrolling member,
     "tokens": [the enrolled linkage tokens, sorted], "iat", "exp"}

The enrolling member attaches it to every ``link`` request; the partner checks
the signature against the registry's consent-service keys, the subject, the
enrolling member, the expiry, and that every token it is asked to match is one
the statement names. Nothing in it is a raw identifier.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

from federation.errors import EnrolmentInvalid, FederationError
from federation.jose import sign_jwt, verify_jwt
from federation.keys import MemberKeys
from federation.registry import CONSENT_SERVICE_ID, Registry

__all__ = [
    "ENROLMENT_STATEMENT_TTL_S",
    "ENROLMENT_TYP",
    "issue_enrolment_statement",
    "verify_enrolment_statement",
]

ENROLMENT_TYP = "joinedup-enrolment+jwt"
# Long enough for the enrolling node to reach every partner, short enough that a
# statement is no standing licence to link.
ENROLMENT_STATEMENT_TTL_S = 300
CLOCK_SKEW_S = 5


def issue_enrolment_statement(
    *,
    keys: MemberKeys,
    subject_id: str,
    enrolled_by: str,
    linkage_tokens: Sequence[str],
    ttl_s: int = ENROLMENT_STATEMENT_TTL_S,
    now: float | None = None,
) -> str:
    """Sign that ``linkage_tokens`` belong to ``subject_id`` (consent service only)."""
    issued = int(now if now is not None else time.time())
    claims: dict[str, Any] = {
        "iss": CONSENT_SERVICE_ID,
        "sub": subject_id,
        "aud": enrolled_by,
        "tokens": sorted(set(linkage_tokens)),
        "iat": issued,
        "exp": issued + ttl_s,
    }
    return sign_jwt(claims, keys.signing_key, typ=ENROLMENT_TYP)


def verify_enrolment_statement(
    statement: str | None,
    *,
    registry: Registry,
    subject_id: str,
    requester: str,
    linkage_tokens: Sequence[str],
    now: float | None = None,
) -> None:
    """Raise ``EnrolmentInvalid`` unless the statement binds these tokens to this subject."""
    if not statement:
        raise EnrolmentInvalid("link request carries no enrolment statement")
    try:
        claims = verify_jwt(statement, registry.verify_keys(CONSENT_SERVICE_ID), typ=ENROLMENT_TYP)
    except FederationError as exc:
        raise EnrolmentInvalid(f"enrolment statement does not verify ({exc.title})") from None
    current = int(now if now is not None else time.time())
    if claims.get("iss") != CONSENT_SERVICE_ID:
        raise EnrolmentInvalid("enrolment statement was not issued by the consent service")
    if claims.get("sub") != subject_id:
        raise EnrolmentInvalid("enrolment statement is about another subject")
    if claims.get("aud") != requester:
        raise EnrolmentInvalid("enrolment statement was issued to another member")
    issued, expires = claims.get("iat"), claims.get("exp")
    if not isinstance(issued, int) or not isinstance(expires, int):
        raise EnrolmentInvalid("enrolment statement has no lifetime")
    if issued > current + CLOCK_SKEW_S or expires <= current:
        raise EnrolmentInvalid("enrolment statement is not current")
    named = claims.get("tokens")
    if not isinstance(named, list) or not set(linkage_tokens) <= set(named):
        raise EnrolmentInvalid("link request names linkage tokens the statement does not")

"""Domain errors shared by every joinedup service.

Every error a service raises on purpose is a ``JoinedUpError``; one handler per app
(``appkit.problems``) turns it into an RFC 9457 ``application/problem+json``
answer, so clients always get a machine-readable body and never a bare 500.

    JoinedUpError                       500 unless a subclass says otherwise
    ├── BadRequest                      400
    │   └── ValidationFailed            422
    ├── NotAuthenticated                401
    ├── NotPermitted                    403
    ├── NotFound                        404
    ├── Conflict                        409
    ├── PayloadTooLarge                 413
    └── FederationError                 protocol failures between members
        ├── RegistryInvalid             400  bad signature, rollback, malformed
        ├── UnknownMember               403  issuer or audience not in the registry
        ├── PeerSignatureInvalid        401  a JWS that does not verify
        ├── RequestExpired              401  outside issued-at / expiry window
        ├── RequestReplayed             409  a request id seen before
        ├── WrongAudience               401  addressed to somebody else
        ├── ConsentInvalid              403  consent token bad, expired or revoked
        ├── EnrolmentInvalid            403  link request not vouched for by the consent service
        ├── SealedResponseInvalid       502  a partner's answer that fails checks
        └── PeerUnavailable             504  a partner that did not answer in time
"""

from __future__ import annotations

from typing import Any


class JoinedUpError(Exception):
    """Base for errors that become problem+json answers."""

    status_code: int = 500
    title: str = "Internal error"
    type_slug: str = "internal-error"

    def __init__(self, message: str, status_code: int | None = None, **extra: Any) -> None:
        super().__init__(message)
        self.message = message
        if status_code is not None:
            self.status_code = status_code
        self.extra = extra


class BadRequest(JoinedUpError):
    status_code = 400
    title = "Bad request"
    type_slug = "bad-request"


class ValidationFailed(BadRequest):
    status_code = 422
    title = "Validation failed"
    type_slug = "validation-failed"


class NotAuthenticated(JoinedUpError):
    status_code = 401
    title = "Not authenticated"
    type_slug = "not-authenticated"


class NotPermitted(JoinedUpError):
    status_code = 403
    title = "Not permitted"
    type_slug = "not-permitted"


class NotFound(JoinedUpError):
    status_code = 404
    title = "Not found"
    type_slug = "not-found"


class Conflict(JoinedUpError):
    status_code = 409
    title = "Conflict"
    type_slug = "conflict"


class PayloadTooLarge(JoinedUpError):
    status_code = 413
    title = "Payload too large"
    type_slug = "payload-too-large"


class FederationError(JoinedUpError):
    status_code = 400
    title = "Federation protocol error"
    type_slug = "federation-error"


class RegistryInvalid(FederationError):
    status_code = 400
    title = "Member registry invalid"
    type_slug = "registry-invalid"


class UnknownMember(FederationError):
    status_code = 403
    title = "Unknown federation member"
    type_slug = "unknown-member"


class PeerSignatureInvalid(FederationError):
    status_code = 401
    title = "Signature invalid"
    type_slug = "signature-invalid"


class RequestExpired(FederationError):
    status_code = 401
    title = "Request expired"
    type_slug = "request-expired"


class RequestReplayed(FederationError):
    status_code = 409
    title = "Request replayed"
    type_slug = "request-replayed"


class WrongAudience(FederationError):
    status_code = 401
    title = "Wrong audience"
    type_slug = "wrong-audience"


class ConsentInvalid(FederationError):
    status_code = 403
    title = "Consent token invalid"
    type_slug = "consent-invalid"


class EnrolmentInvalid(FederationError):
    status_code = 403
    title = "Enrolment statement invalid"
    type_slug = "enrolment-invalid"


class SealedResponseInvalid(FederationError):
    status_code = 502
    title = "Partner response invalid"
    type_slug = "sealed-response-invalid"


class PeerUnavailable(FederationError):
    status_code = 504
    title = "Partner unavailable"
    type_slug = "peer-unavailable"

"""Errors of the referrals domain.

JoinedUpError
├── Conflict
│   ├── IllegalTransition       409  the state machine does not allow this change
│   └── ReferralIdTaken         409  a partner reused another referral's id
├── NotFound
│   └── ReferralNotFound        404
├── NotPermitted
│   └── MayNotRefer             403  this staff role may not refer (policies/act/data.json)
├── ValidationFailed
│   └── ReferralInvalid         422  unknown partner, code, urgency; missing note or worker
├── StatusTooEarly              425  a partner's status overtook an earlier one; resend later
└── DecisionUnavailable         503  the policy engine failed: nothing recorded, resend later
"""

from __future__ import annotations

from federation.errors import Conflict, JoinedUpError, NotFound, NotPermitted, ValidationFailed


class IllegalTransition(Conflict):
    title = "Change not allowed"
    type_slug = "illegal-transition"


class ReferralIdTaken(Conflict):
    title = "Referral id already used"
    type_slug = "referral-id-taken"


class ReferralNotFound(NotFound):
    title = "Referral not found"
    type_slug = "referral-not-found"


class MayNotRefer(NotPermitted):
    title = "Not allowed to refer"
    type_slug = "may-not-refer"


class ReferralInvalid(ValidationFailed):
    title = "Referral not valid"
    type_slug = "referral-invalid"


class StatusTooEarly(JoinedUpError):
    # RFC 8470 425 Too Early: the outbox retries it, so the earlier status lands first.
    status_code = 425
    title = "Status arrived too early"
    type_slug = "status-too-early"


class DecisionUnavailable(JoinedUpError):
    # A referral refused is refused for good; an engine that failed (an OPA sidecar
    # restarting) must not turn into that. Nothing is recorded and the sender retries.
    status_code = 503
    title = "Decision unavailable"
    type_slug = "decision-unavailable"

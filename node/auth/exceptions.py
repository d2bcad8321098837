"""Sign-in errors (all ``federation.errors.JoinedUpError``, so problem+json).

JoinedUpError
├── NotAuthenticated
│   ├── SignInRefused       401  wrong password, unknown or disabled account: one
│   │                            message for all three, so the answer never tells a
│   │                            guesser which usernames exist; the cause travels
│   │                            in attributes, for the audit entry only
│   └── OidcSignInRefused   401  an identity-provider sign-in that failed a check
│                                (state, signature, issuer, audience, expiry,
│                                nonce, unmapped group); cause for the audit only
├── Conflict
│   └── LastActiveAdmin     409  the change would leave the organisation without an
│                                active admin, so nobody could manage staff again
└── TooManySignIns          429  the username or the client address had too many
                                 failed sign-ins lately (``appkit.throttle``, shared
                                 with the consent service)
"""

from __future__ import annotations

from appkit.throttle import TooManySignIns
from federation.errors import Conflict, NotAuthenticated

__all__ = ["LastActiveAdmin", "OidcSignInRefused", "SignInRefused", "TooManySignIns"]

SIGN_IN_REFUSED = "invalid username or password"


class SignInRefused(NotAuthenticated):
    """A refused sign-in; ``cause`` and ``staff_id`` are for the audit log, never the reply."""

    def __init__(self, cause: str, staff_id: int | None = None) -> None:
        super().__init__(SIGN_IN_REFUSED)
        self.cause = cause
        self.staff_id = staff_id


class OidcSignInRefused(NotAuthenticated):
    """A sign-in through the identity provider that failed a check (``node.auth.oidc``).

    ``cause`` (plain words for the audit entry, never personal data) says which check;
    the reply to the browser does not.
    """

    def __init__(self, cause: str) -> None:
        super().__init__("sign-in through the identity provider was refused")
        self.cause = cause


class LastActiveAdmin(Conflict):
    title = "Last active admin"
    type_slug = "last-active-admin"

"""Sign-in errors (all ``federation.errors.JoinedUpError``, so problem+json).

JoinedUpError
├── NotAuthenticated
│   └── SignInRefused       401  wrong password, unknown or disabled account: one
│                                message for all three, so the answer never tells a
│                                guesser which usernames exist; the cause travels
│                                in attributes, for the audit entry only
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

__all__ = ["LastActiveAdmin", "SignInRefused", "TooManySignIns"]

SIGN_IN_REFUSED = "invalid username or password"


class SignInRefused(NotAuthenticated):
    """A refused sign-in; ``cause`` and ``staff_id`` are for the audit log, never the reply."""

    def __init__(self, cause: str, staff_id: int | None = None) -> None:
        super().__init__(SIGN_IN_REFUSED)
        self.cause = cause
        self.staff_id = staff_id


class LastActiveAdmin(Conflict):
    title = "Last active admin"
    type_slug = "last-active-admin"

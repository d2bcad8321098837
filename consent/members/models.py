"""Table ``consent_seen_request``: the service's replay cache in its database (``appkit.replay``).

Every process of the consent service records the id of each member request it
acts on here, so a request replayed to another process (or replica) is refused.
"""

from __future__ import annotations

from appkit.replay import SeenRequestBase


class ConsentSeenRequest(SeenRequestBase, table=True):
    """A member's request this service has acted on, until it expires."""

    __tablename__ = "consent_seen_request"

"""Signed actions of the needs guide (``node.guide``, docs/guide.md).

``guide_announce``: a member tells a partner that it published a new catalogue
version, so the partner fetches it at once rather than at its next scheduled
refresh. Sent through the outbox, so a partner that is down hears of it later.
The receiver never trusts the announced version: it fetches the catalogue and
verifies it like any other.

``guide_fetch``: the signed request a member sends (as a bearer token on the
conditional ``GET /federation/guide/catalogue``) to show the publisher it is a
member; its body is empty.
"""

from __future__ import annotations

from typing import ClassVar

from pydantic import Field

from federation.wire import WireMessage


class GuideAnnounce(WireMessage):
    """ "I have published catalogue version ``version``"."""

    action: ClassVar[str] = "guide_announce"

    version: int = Field(ge=1)


class GuideFetch(WireMessage):
    """A member asking for the publisher's current catalogue (no parameters)."""

    action: ClassVar[str] = "guide_fetch"

"""Table ``seen_request``: the node's replay cache in its database (``appkit.replay``)."""

from __future__ import annotations

from appkit.replay import SeenRequestBase


class SeenRequest(SeenRequestBase, table=True):
    """A partner request this node has acted on, until it expires."""

    __tablename__ = "seen_request"

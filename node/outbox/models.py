"""Tables ``outbox_message`` (what this node sends on its own) and ``delivery_receipt``.

Columns and their meaning: ``appkit.outbox.models``.
"""

from __future__ import annotations

from appkit.outbox.models import DeliveryReceiptBase, OutboxMessageBase


class OutboxMessage(OutboxMessageBase, table=True):
    """A message this node must deliver (an emergency notice to the consent service)."""

    __tablename__ = "outbox_message"


class DeliveryReceipt(DeliveryReceiptBase, table=True):
    """A sender's message this node has acted on (a revocation push), by idempotency key."""

    __tablename__ = "delivery_receipt"

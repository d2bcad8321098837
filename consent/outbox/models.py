"""Tables ``consent_outbox_message`` and ``consent_delivery_receipt``.

Columns and their meaning: ``appkit.outbox.models``.
"""

from __future__ import annotations

from appkit.outbox.models import DeliveryReceiptBase, OutboxMessageBase


class ConsentOutboxMessage(OutboxMessageBase, table=True):
    """A push this service must deliver (a revocation or amendment, to one member node)."""

    __tablename__ = "consent_outbox_message"


class ConsentDeliveryReceipt(DeliveryReceiptBase, table=True):
    """A member's message this service has acted on, by idempotency key."""

    __tablename__ = "consent_delivery_receipt"

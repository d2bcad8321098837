"""The durable transactional outbox, written once for the node and the consent service.

A message a party sends on its own (a revocation push, an emergency notice; later
referral and plan messages) is written by ``enqueue`` into the app's outbox table
in the same transaction as the change it announces, and delivered afterwards by an
``OutboxWorker`` running in each of the app's processes. The receiver honours the
message's idempotency key with ``first_delivery``. See ``store`` (claiming with
``FOR UPDATE SKIP LOCKED``), ``worker`` (backoff with jitter, dead letters) and
``signed`` (one signed request per attempt); docs/operations.md "Outbox".
"""

from appkit.outbox.models import STATUSES, DeliveryReceiptBase, OutboxMessageBase, OutboxStatus
from appkit.outbox.signed import deliver_signed
from appkit.outbox.store import (
    ClaimedMessage,
    claim_due,
    count_by_status,
    enqueue,
    first_delivery,
    list_messages,
    retry_message,
)
from appkit.outbox.worker import DeliveryResult, OutboxWorker, Outcome, RetryPolicy, running

__all__ = [
    "STATUSES",
    "ClaimedMessage",
    "DeliveryReceiptBase",
    "DeliveryResult",
    "Outcome",
    "OutboxMessageBase",
    "OutboxStatus",
    "OutboxWorker",
    "RetryPolicy",
    "claim_due",
    "count_by_status",
    "deliver_signed",
    "enqueue",
    "first_delivery",
    "list_messages",
    "retry_message",
    "running",
]

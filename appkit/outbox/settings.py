"""The outbox settings both apps share (``JOINEDUP_NODE_OUTBOX_*``, ``JOINEDUP_CONSENT_OUTBOX_*``).

Each app's settings class inherits these fields, so they take that app's prefix.
The defaults suit a member that may be down for a maintenance window: the waits
double from 1 s up to 5 minutes, and a message is given up (dead letter, visible
to admins, retried by hand) after 20 tries, about an hour and a half.
"""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings

from appkit.outbox.worker import RetryPolicy


class OutboxSettings(BaseSettings):
    """Retry, lease and polling of the app's outbox worker."""

    outbox_backoff_base_s: float = Field(default=1.0, gt=0, le=3600)
    outbox_backoff_cap_s: float = Field(default=300.0, gt=0, le=86_400)
    outbox_max_attempts: int = Field(default=20, ge=1, le=1000)
    outbox_lease_s: float = Field(
        default=30.0, gt=0, le=3600, description="Must exceed the delivery timeout."
    )
    outbox_poll_s: float = Field(default=1.0, gt=0, le=60)
    outbox_timeout_s: float = Field(default=5.0, gt=0, le=60)
    outbox_worker: bool = Field(default=True, description="Run a delivery worker in this process.")

    @property
    def outbox_policy(self) -> RetryPolicy:
        return RetryPolicy(
            base_s=self.outbox_backoff_base_s,
            cap_s=self.outbox_backoff_cap_s,
            max_attempts=self.outbox_max_attempts,
            lease_s=self.outbox_lease_s,
            poll_s=self.outbox_poll_s,
        )

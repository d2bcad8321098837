"""The node's outbox worker, started in its lifespan (``outbox_state``).

Every process of the node runs one (``outbox_worker`` setting); processes and
replicas share the database and claim disjoint messages. It sends the customer
notices that emergency views owe (``node.views.notices``), the needs guide's
announcements of a new catalogue version (``node.guide.announce``) and the referral
offers and status messages staff send (``node.referrals.outbox``).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from functools import partial

from fastapi import FastAPI

from appkit.outbox import OutboxWorker
from appkit.outbox.app import from_app_state, outbox_lifespan
from federation.wire.guide import GuideAnnounce
from node.config import NodeSettings
from node.guide.announce import send_announce
from node.outbox.models import OutboxMessage
from node.referrals.outbox import audit_offer_given_up, send_offer, send_status
from node.referrals.service import REFERRAL_OFFER, REFERRAL_STATUS
from node.views.notices import CUSTOMER_NOTICE, audit_notice_outcome, send_notice


def make_worker(app: FastAPI) -> OutboxWorker:
    """A worker delivering this node's outbox with the app's state and settings."""
    settings: NodeSettings = app.state.settings
    return OutboxWorker(
        engine=app.state.engine,
        model=OutboxMessage,
        senders={
            CUSTOMER_NOTICE: from_app_state(app, partial(send_notice, me=settings.org_id)),
            GuideAnnounce.action: from_app_state(app, partial(send_announce, me=settings.org_id)),
            REFERRAL_OFFER: from_app_state(
                app,
                partial(
                    send_offer,
                    me=settings.org_id,
                    engine=app.state.engine,
                    consent_tokens=getattr(app.state, "consent_tokens", None),
                ),
            ),
            REFERRAL_STATUS: from_app_state(app, partial(send_status, me=settings.org_id)),
        },
        on_settled={
            CUSTOMER_NOTICE: partial(audit_notice_outcome, org_id=settings.org_id),
            REFERRAL_OFFER: partial(audit_offer_given_up, org_id=settings.org_id),
        },
        policy=settings.outbox_policy,
    )


@asynccontextmanager
async def outbox_state(app: FastAPI) -> AsyncIterator[None]:
    """Lifespan hook: the node's outbox worker as ``app.state.outbox``."""
    async with outbox_lifespan(app, make_worker(app)):
        yield

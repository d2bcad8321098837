"""Table ``revocation``: consents the consent service told this node were revoked.

Kept so that a restarted node still refuses consent tokens that list a revoked
consent (``federation.consent_token.RevocationSet`` is rebuilt from this table at
start-up). One row per consent (``consent_id`` unique): a repeated push is a no-op.
"""

from __future__ import annotations

import datetime as dt

from sqlmodel import Field, SQLModel

from node.db import UTCDateTime, utcnow


class Revocation(SQLModel, table=True):
    """One revoked consent, as pushed by the consent service."""

    __tablename__ = "revocation"

    id: int | None = Field(default=None, primary_key=True)
    consent_id: str = Field(max_length=128, unique=True)
    subject_id: str = Field(max_length=128, index=True)
    revoked_at: dt.datetime = Field(sa_type=UTCDateTime)
    received_at: dt.datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class ConsentChange(SQLModel, table=True):
    """How often the consent service has told this node a subject's consents changed.

    A grant, amendment or revocation pushed for the subject moves ``version`` on; a
    requester's cached consent token for the subject (``node.views.token_cache``)
    is used only while the version it was fetched under is still current.
    """

    __tablename__ = "consent_change"

    subject_id: str = Field(max_length=128, primary_key=True)
    version: int = Field(default=0)
    changed_at: dt.datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)

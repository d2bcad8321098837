"""An empty outbox per test, on every backend (the node's tables from its migrations)."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from node.outbox.models import DeliveryReceipt, OutboxMessage


@pytest.fixture
def engine(db_engine: Engine) -> Engine:
    """The module's migrated database with the outbox tables emptied before each test."""
    with db_engine.begin() as connection:
        connection.execute(sa.delete(OutboxMessage.__table__))  # type: ignore[arg-type]
        connection.execute(sa.delete(DeliveryReceipt.__table__))  # type: ignore[arg-type]
    return db_engine

"""Tables of the needs guide.

- ``guide_service``: this organisation's own services, as its admins edit them.
- ``guide_publication``: this node's published catalogue (one row): the current
  version, the signed document (JSON text) and its ETag, rebuilt and re-signed in
  the transaction of every change, so a fetch serves it as stored and a
  conditional fetch reads the ETag alone.
- ``guide_source``: one row per organisation whose catalogue is in the guide
  (partners, and this node itself): the last verified version, its ETag, when it
  was last confirmed current, and the last failure, which marks its entries stale.
- ``guide_entry``: every service in the guide, flattened for search: only the
  columns searches filter and sort on (``categories`` and ``districts`` are
  space-padded lists, " housing income ", so a filter is one LIKE), so a scan of
  10,000 rows stays in a few hundred KB.
- ``guide_entry_detail``: per entry, the service as published (JSON text, served
  back as it came) and its ``search_text``, which the database's full-text search
  indexes (SQLite: the FTS5 table ``guide_entry_fts`` over this table, kept by
  triggers; PostgreSQL: a GIN index over ``to_tsvector('english', search_text)``),
  both made by the migration ``0040_guide``.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from node.db import UTCDateTime, utcnow

# Tables the full-text index adds that no model describes (FTS5 and its shadow tables).
FULL_TEXT_TABLE_PREFIX = "guide_entry_fts"


class GuideService(SQLModel, table=True):
    """One of this organisation's services (``federation.catalogue.ServiceEntry``)."""

    __tablename__ = "guide_service"

    id: int | None = Field(default=None, primary_key=True)
    service_key: str = Field(max_length=64, unique=True)
    document: dict[str, Any] = Field(sa_type=sa.JSON)
    created_at: dt.datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    updated_at: dt.datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class GuidePublication(SQLModel, table=True):
    """This node's signed catalogue as served (``id`` is always 1)."""

    __tablename__ = "guide_publication"

    id: int | None = Field(default=None, primary_key=True)
    version: int = Field(default=0)
    etag: str = Field(max_length=64)
    # The published JSON text, served byte for byte (never re-encoded per fetch).
    signed: str = Field(sa_type=sa.Text)
    published_at: dt.datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class GuideSource(SQLModel, table=True):
    """Where one organisation's part of the guide came from, and how fresh it is."""

    __tablename__ = "guide_source"

    id: int | None = Field(default=None, primary_key=True)
    org_id: str = Field(max_length=64, unique=True)
    version: int = Field(default=0)
    etag: str | None = Field(default=None, max_length=64)
    verified_at: dt.datetime | None = Field(default=None, sa_type=UTCDateTime)
    checked_at: dt.datetime | None = Field(default=None, sa_type=UTCDateTime)
    failed_at: dt.datetime | None = Field(default=None, sa_type=UTCDateTime)
    last_error: str | None = Field(default=None, max_length=200)


class GuideEntry(SQLModel, table=True):
    """One service in the guide (this node's or a partner's): the columns searches filter
    and sort on, kept narrow so a scan of 10,000 services reads little."""

    __tablename__ = "guide_entry"

    id: int | None = Field(default=None, primary_key=True)
    org_id: str = Field(max_length=64, index=True)
    service_key: str = Field(max_length=64)
    # SHA-256 of the service's canonical JSON: an unchanged service is kept, not rewritten.
    digest: str = Field(max_length=64)
    name: str = Field(max_length=200)
    categories: str = Field(max_length=1_000)
    districts: str = Field(default="", sa_type=sa.Text)
    min_age: int | None = None
    max_age: int | None = None
    capacity_rank: int = Field(default=0)
    typical_wait_days: int | None = None


class GuideEntryDetail(SQLModel, table=True):
    """The service as published (JSON text) and the words its full-text index holds."""

    __tablename__ = "guide_entry_detail"

    entry_id: int = Field(foreign_key="guide_entry.id", primary_key=True)
    search_text: str = Field(sa_type=sa.Text)
    document: str = Field(sa_type=sa.Text)

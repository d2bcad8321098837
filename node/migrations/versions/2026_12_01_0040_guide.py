"""The needs guide (node/guide): own services, the published catalogue, the guide's entries.

Full-text search over ``guide_entry_detail.search_text``: on SQLite an
external-content FTS5 table ``guide_entry_fts`` (porter stemming over unicode61)
kept in step by triggers; on PostgreSQL a GIN index over
``to_tsvector('english', search_text)``.

Revision ID: 0040_guide
Revises: 0001_records
Create Date: 2026-12-01 20:10:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0040_guide"
down_revision: str | Sequence[str] | None = "0001_records"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_FTS_TRIGGERS = (
    """CREATE TRIGGER guide_entry_fts_ai AFTER INSERT ON guide_entry_detail BEGIN
        INSERT INTO guide_entry_fts(rowid, search_text) VALUES (new.entry_id, new.search_text);
    END""",
    """CREATE TRIGGER guide_entry_fts_ad AFTER DELETE ON guide_entry_detail BEGIN
        INSERT INTO guide_entry_fts(guide_entry_fts, rowid, search_text)
        VALUES ('delete', old.entry_id, old.search_text);
    END""",
    """CREATE TRIGGER guide_entry_fts_au AFTER UPDATE ON guide_entry_detail BEGIN
        INSERT INTO guide_entry_fts(guide_entry_fts, rowid, search_text)
        VALUES ('delete', old.entry_id, old.search_text);
        INSERT INTO guide_entry_fts(rowid, search_text) VALUES (new.entry_id, new.search_text);
    END""",
)


def _stamp(name: str, nullable: bool = False) -> sa.Column[object]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "guide_service",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("service_key", sa.String(length=64), nullable=False),
        sa.Column("document", sa.JSON(), nullable=False),
        _stamp("created_at"),
        _stamp("updated_at"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_guide_service")),
        sa.UniqueConstraint("service_key", name=op.f("uq_guide_service_service_key")),
    )
    op.create_table(
        "guide_publication",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("etag", sa.String(length=64), nullable=False),
        sa.Column("signed", sa.Text(), nullable=False),
        _stamp("published_at"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_guide_publication")),
    )
    op.create_table(
        "guide_source",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("org_id", sa.String(length=64), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("etag", sa.String(length=64), nullable=True),
        _stamp("verified_at", nullable=True),
        _stamp("checked_at", nullable=True),
        _stamp("failed_at", nullable=True),
        sa.Column("last_error", sa.String(length=200), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_guide_source")),
        sa.UniqueConstraint("org_id", name=op.f("uq_guide_source_org_id")),
    )
    op.create_table(
        "guide_entry",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("org_id", sa.String(length=64), nullable=False),
        sa.Column("service_key", sa.String(length=64), nullable=False),
        sa.Column("digest", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("categories", sa.String(length=1000), nullable=False),
        sa.Column("districts", sa.Text(), nullable=False),
        sa.Column("min_age", sa.Integer(), nullable=True),
        sa.Column("max_age", sa.Integer(), nullable=True),
        sa.Column("capacity_rank", sa.Integer(), nullable=False),
        sa.Column("typical_wait_days", sa.Integer(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_guide_entry")),
    )
    op.create_index(op.f("ix_guide_entry_org_id"), "guide_entry", ["org_id"], unique=False)
    op.create_table(
        "guide_entry_detail",
        sa.Column("entry_id", sa.Integer(), nullable=False),
        sa.Column("search_text", sa.Text(), nullable=False),
        sa.Column("document", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["entry_id"],
            ["guide_entry.id"],
            name=op.f("fk_guide_entry_detail_entry_id_guide_entry"),
        ),
        sa.PrimaryKeyConstraint("entry_id", name=op.f("pk_guide_entry_detail")),
    )
    if op.get_bind().dialect.name == "sqlite":
        op.execute(
            "CREATE VIRTUAL TABLE guide_entry_fts USING fts5("
            "search_text, content='guide_entry_detail', content_rowid='entry_id', "
            "tokenize='porter unicode61')"
        )
        for trigger in _FTS_TRIGGERS:
            op.execute(trigger)
    else:
        op.execute(
            "CREATE INDEX guide_entry_fts_gin ON guide_entry_detail "
            "USING gin (to_tsvector('english', search_text))"
        )


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        for name in ("ai", "ad", "au"):
            op.execute(f"DROP TRIGGER IF EXISTS guide_entry_fts_{name}")
        op.execute("DROP TABLE IF EXISTS guide_entry_fts")
    else:
        op.execute("DROP INDEX IF EXISTS guide_entry_fts_gin")
    op.drop_table("guide_entry_detail")
    op.drop_index(op.f("ix_guide_entry_org_id"), table_name="guide_entry")
    op.drop_table("guide_entry")
    op.drop_table("guide_source")
    op.drop_table("guide_publication")
    op.drop_table("guide_service")

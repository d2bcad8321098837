"""Alembic builds the node schema on SQLite and PostgreSQL, and it matches the models.

``compare_metadata`` between the migrated database and every ``node.*.models``
table means a model (or column, index, type) added without a migration fails here.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Engine

from node.db import alembic_config, make_engine, node_metadata, upgrade_database
from node.guide.models import FULL_TEXT_TABLE_PREFIX
from tests.fixtures.db import BACKENDS, temporary_database


@pytest.fixture(params=BACKENDS)
def empty_engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    with temporary_database(request.param, tmp_path) as url:
        engine = make_engine(url)
        yield engine
        engine.dispose()


def _modelled(name: str | None, type_: str, parent_names: object) -> bool:
    """Everything but the full-text index (FTS5 tables, the GIN index): no model has it."""
    return not (name or "").startswith(FULL_TEXT_TABLE_PREFIX)


def _diff(engine: Engine, metadata: sa.MetaData) -> list[object]:
    with engine.connect() as connection:
        context = MigrationContext.configure(
            connection, opts={"compare_type": True, "include_name": _modelled}
        )
        return list(compare_metadata(context, metadata))


def test_upgrade_from_empty_reaches_every_head_and_matches_the_models(
    empty_engine: Engine,
) -> None:
    upgrade_database(empty_engine)
    heads = set(ScriptDirectory.from_config(alembic_config()).get_heads())
    with empty_engine.connect() as connection:
        applied = set(MigrationContext.configure(connection).get_current_heads())
    assert applied == heads
    tables = set(sa.inspect(empty_engine).get_table_names())
    assert {"person", "need", "action", "contact", "staff", "subject_link"} <= tables
    assert _diff(empty_engine, node_metadata()) == []


def test_upgrade_twice_is_a_no_op(empty_engine: Engine) -> None:
    upgrade_database(empty_engine)
    upgrade_database(empty_engine)
    assert _diff(empty_engine, node_metadata()) == []


def test_a_model_without_a_migration_is_detected(empty_engine: Engine) -> None:
    upgrade_database(empty_engine)
    metadata = node_metadata()
    sa.Table("unmigrated", metadata, sa.Column("id", sa.Integer, primary_key=True))
    metadata.tables["person"].append_column(sa.Column("shoe_size", sa.Integer))
    diff = _diff(empty_engine, metadata)
    kinds = {entry[0] for entry in diff if isinstance(entry, tuple)}
    assert "add_table" in kinds
    assert "add_column" in kinds


def test_downgrade_to_base_removes_the_records_schema(empty_engine: Engine) -> None:
    upgrade_database(empty_engine)
    with empty_engine.begin() as connection:
        command.downgrade(alembic_config(connection), "base")
    tables = set(sa.inspect(empty_engine).get_table_names())
    assert not tables & {"person", "need", "action", "contact", "staff", "subject_link"}

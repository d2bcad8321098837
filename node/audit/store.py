"""The append hot path in plain SQL on the session's own connection.

The same goes for the one query behind every proof (``fetch_subtrees``), which
must answer within a millisecond on a million-entry log.

An append is four statements in the caller's transaction: lock-and-read the tree
state row, insert the entry, insert the subtrees it completed, write the new state.
Through SQLAlchemy's ORM or even Core, per-statement compilation and type processing
cost more than SQLite itself (measured ~1,000/s with the ORM, ~1,600/s with Core,
~2,600/s like this; see bench/audit.py), and the DESIGN bar is 2,000 appends/s. So
these four statements are written once, by hand, for both backends; everything
else in ``node.audit`` uses Core or the ORM. Values are converted here exactly as
the column types in ``node.audit.models`` would (UTC timestamps, JSON text,
booleans), so ORM reads see identical rows on SQLite and PostgreSQL.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa

__all__ = ["fetch_subtrees", "lock_tree_state", "write_append"]

_ENTRY_COLUMNS = (
    "seq",
    "recorded_at",
    "request_id",
    "kind",
    "actor_org",
    "actor_staff",
    "actor_role",
    "subject_id",
    "purpose",
    "action",
    "decision",
    "categories",
    "reason",
    "emergency",
    "holder_org",
    "emergency_basis",
    "justification",
)

# The no-op UPDATE takes the lock before anything is read: PostgreSQL holds the row
# lock to commit and RETURNING gives the latest committed row; SQLite takes its
# database write lock (waiting up to busy_timeout), so no stale snapshot is read.
_LOCK = (
    "UPDATE audit_tree_state SET tree_size = tree_size WHERE id = 1 RETURNING tree_size, frontier"
)
_INSERT_ENTRY = (
    f"INSERT INTO audit_entry ({', '.join(_ENTRY_COLUMNS)}) "
    f"VALUES ({', '.join(':' + c for c in _ENTRY_COLUMNS)})"
)
_INSERT_SUBTREE = "INSERT INTO audit_subtree (pos, hash) VALUES (:pos, :hash)"
_UPDATE_STATE = (
    "UPDATE audit_tree_state SET tree_size = :tree_size, frontier = :frontier, "
    "root_hash = :root_hash, updated_at = :updated_at WHERE id = 1"
)
_NAMED = re.compile(r":([a-z_]+)")


def _for_postgres(sql: str) -> str:
    sql = _NAMED.sub(r"%(\1)s", sql)
    return sql.replace("%(categories)s", "CAST(%(categories)s AS JSON)")


_POSTGRES = {
    sql: _for_postgres(sql) for sql in (_LOCK, _INSERT_ENTRY, _INSERT_SUBTREE, _UPDATE_STATE)
}


def _sql(connection: sa.Connection, sql: str) -> str:
    return sql if connection.dialect.name == "sqlite" else _POSTGRES[sql]


def _time(connection: sa.Connection, value: dt.datetime) -> Any:
    value = value.astimezone(dt.UTC)
    if connection.dialect.name == "sqlite":
        # SQLAlchemy's SQLite DATETIME storage format, so reads parse it back.
        return value.strftime("%Y-%m-%d %H:%M:%S.%f")
    return value


def _cursor(connection: sa.Connection) -> Any:
    # The DB-API cursor of the session's own connection: same transaction, without
    # SQLAlchemy's per-statement result machinery (a quarter of an append's time).
    return connection.connection.cursor()


def lock_tree_state(connection: sa.Connection) -> tuple[int, bytes] | None:
    """Lock the state row for this transaction; return (size, frontier bytes)."""
    cursor = _cursor(connection)
    try:
        cursor.execute(_sql(connection, _LOCK))
        row = cursor.fetchone()
    finally:
        cursor.close()
    if row is None:
        return None
    return int(row[0]), bytes(row[1])


def write_append(
    connection: sa.Connection,
    *,
    entry: dict[str, Any],
    subtrees: Sequence[tuple[int, bytes]],
    tree_size: int,
    frontier: bytes,
    root_hash: bytes,
) -> None:
    """Insert the entry and its completed subtrees and store the new tree state."""
    params = dict(entry)
    params["recorded_at"] = _time(connection, entry["recorded_at"])
    params["categories"] = json.dumps(entry["categories"])
    if connection.dialect.name == "sqlite":
        params["emergency"] = int(bool(entry["emergency"]))
    cursor = _cursor(connection)
    try:
        cursor.execute(_sql(connection, _INSERT_ENTRY), params)
        cursor.executemany(
            _sql(connection, _INSERT_SUBTREE), [{"pos": pos, "hash": h} for pos, h in subtrees]
        )
        cursor.execute(
            _sql(connection, _UPDATE_STATE),
            {
                "tree_size": tree_size,
                "frontier": frontier,
                "root_hash": root_hash,
                "updated_at": params["recorded_at"],
            },
        )
    finally:
        cursor.close()


def fetch_subtrees(connection: sa.Connection, positions: Sequence[int]) -> list[tuple[int, bytes]]:
    """The stored subtree hashes at ``positions`` (one indexed query)."""
    if not positions:
        return []
    mark = "?" if connection.dialect.name == "sqlite" else "%s"
    sql = f"SELECT pos, hash FROM audit_subtree WHERE pos IN ({', '.join([mark] * len(positions))})"
    cursor = _cursor(connection)
    try:
        cursor.execute(sql, tuple(positions))
        return list(cursor.fetchall())
    finally:
        cursor.close()

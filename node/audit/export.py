"""CSV and JSON Lines renderings of audit entries, for auditors' own tools.

Both are streamed entry by entry (``node.audit.queries.iter_entries``), so an export
of a large log never sits in memory. This is the one export: the API
(``/audit/entries.csv``, ``.jsonl``), the auditor's web page and the
``joinedup audit export`` command all write these bytes (``export_stream``).
JSON Lines carries each entry's canonical form (the exact mapping its leaf
hashes, docs/audit.md) so an exported file can be re-verified against inclusion
proofs; CSV is for spreadsheets. Cells that start
with a formula character are prefixed with a quote (OWASP "CSV injection").
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterable, Iterator

from sqlalchemy.engine import Engine
from sqlmodel import Session

from federation.merkle import canonical_entry_bytes
from node.audit.models import AuditEntry
from node.audit.queries import AuditScope, iter_entries
from node.audit.schemas import AuditFilter

__all__ = ["CSV_COLUMNS", "EXPORT_MEDIA_TYPES", "csv_lines", "export_stream", "jsonl_lines"]

CSV_COLUMNS = (
    "seq",
    "at",
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
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        value = ";".join(str(v) for v in value)
    text = str(value)
    return "'" + text if text.startswith(_FORMULA_START) else text


def csv_lines(entries: Iterable[AuditEntry]) -> Iterator[str]:
    """A header row, then one row per entry (RFC 4180, CRLF line ends)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(CSV_COLUMNS)
    yield buffer.getvalue()
    for entry in entries:
        buffer.seek(0)
        buffer.truncate()
        canonical = entry.canonical()
        # Format-1 entries have no emergency basis or justification: empty cells.
        writer.writerow([_cell(canonical.get(c)) for c in CSV_COLUMNS])
        yield buffer.getvalue()


def jsonl_lines(entries: Iterable[AuditEntry]) -> Iterator[str]:
    """One canonical JSON entry per line."""
    for entry in entries:
        yield canonical_entry_bytes(entry.canonical()).decode("utf-8") + "\n"


Render = Callable[[Iterable[AuditEntry]], Iterator[str]]
RENDERERS: dict[str, Render] = {"csv": csv_lines, "jsonl": jsonl_lines}
EXPORT_MEDIA_TYPES = {"csv": "text/csv; charset=utf-8", "jsonl": "application/jsonl"}


def export_stream(
    engine: Engine, *, filters: AuditFilter, scope: AuditScope, fmt: str
) -> Iterator[str]:
    """The matching entries, in log order, as ``fmt`` ("csv" or "jsonl"), read lazily.

    It opens its own session when the body is sent (a request's session is closed
    before a streamed answer starts) and ends its read transaction after each batch
    of entries, so the connection is back in the pool while they are sent.
    """
    render = RENDERERS[fmt]
    with Session(engine) as session:
        entries = iter_entries(
            session=session, filters=filters, scope=scope, after_batch=session.rollback
        )
        yield from render(entries)

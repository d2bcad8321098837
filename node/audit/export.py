"""CSV and JSON Lines renderings of audit entries, for auditors' own tools.

Both are streamed entry by entry (``node.audit.queries.iter_entries``), so an export
of a large log never sits in memory. JSON Lines carries each entry's canonical form
(the exact mapping its leaf hashes, docs/audit.md) so an exported file can be
re-verified against inclusion proofs; CSV is for spreadsheets. Cells that start
with a formula character are prefixed with a quote (OWASP "CSV injection").
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator

from federation.merkle import canonical_entry_bytes
from node.audit.models import AuditEntry

__all__ = ["CSV_COLUMNS", "csv_lines", "jsonl_lines"]

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

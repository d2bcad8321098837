"""Structured (JSON lines) logging for a node, configured once per process.

Log records carry only operational facts: route templates, status codes, ids of
rows, counts. Personal data (names, dates of birth, free text) is never logged;
error handlers log exception types, not messages.
"""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime
from typing import Any

_STANDARD = set(vars(logging.makeLogRecord({}))) | {"message", "asctime"}


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message and any ``extra`` fields."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key, value in vars(record).items():
            if key not in _STANDARD and not key.startswith("_"):
                entry[key] = value
        if record.exc_info and record.exc_info[0] is not None:
            entry["exc_type"] = record.exc_info[0].__name__
        return json.dumps(entry, default=str)


def configure_logging(*, json_lines: bool, level: int = logging.INFO) -> None:
    """Attach one handler to the ``joinedup`` logger (idempotent across app instances)."""
    logger = logging.getLogger("joinedup")
    logger.setLevel(level)
    if any(getattr(h, "_joinedup", False) for h in logger.handlers):
        return
    handler = logging.StreamHandler()
    handler.setFormatter(JsonFormatter() if json_lines else logging.Formatter(logging.BASIC_FORMAT))
    handler._joinedup = True  # type: ignore[attr-defined]
    logger.addHandler(handler)
    logger.propagate = False

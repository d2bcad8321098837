"""Structured (JSON lines) logging for both apps, configured once per process.

Log records carry only operational facts: route templates, status codes, ids of
rows, counts. Personal data (names, dates of birth, free text) is never logged;
error handlers log exception types, not messages.

A traceback is never written either, whoever logs it (uvicorn's "Exception in ASGI
application", asyncio's "Task exception was never retrieved", a library's
``log.exception``): its frames and message can hold the values being processed, and
a hundred lines of it break a JSON-lines log. ``NoTracebacks`` keeps the exception's
type and drops the rest; ``configure_logging`` puts it on the ``joinedup`` handler,
on the handlers of the root and uvicorn loggers, and on the loggers that log
exceptions themselves. With ``json_lines`` the uvicorn handlers write JSON lines too,
so one process writes one format.

uvicorn's own access log (on unless ``--no-access-log``) writes the raw path *and
query string* (``GET /persons?q=Okafor``): it is dropped here, and the app's access
log, which names route templates only, takes its place.
"""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime
from typing import Any

__all__ = ["DropAll", "JsonFormatter", "NoTracebacks", "configure_logging"]

_STANDARD = set(vars(logging.makeLogRecord({}))) | {"message", "asctime"}
# Loggers that log exceptions with tracebacks of their own (uvicorn's server errors,
# asyncio's unretrieved task exceptions): their records are scrubbed at the source.
SCRUBBED_LOGGERS = ("uvicorn", "uvicorn.error", "asyncio")
RAW_ACCESS_LOGGER = "uvicorn.access"


class NoTracebacks(logging.Filter):
    """Replace a record's traceback by the exception's type (``exc_type``)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.exc_info:
            kind = record.exc_info[0]
            if kind is not None and not hasattr(record, "exc_type"):
                record.exc_type = kind.__name__
            record.exc_info = None
        record.exc_text = None
        record.stack_info = None
        if record.name == "asyncio":
            # Its messages go on to embed a task's or callback's repr, arguments and
            # exception message included: keep the first line, up to the first repr.
            first = record.getMessage().split("\n", 1)[0].split("<", 1)[0]
            record.msg, record.args = first.strip(), ()
        return True


class DropAll(logging.Filter):
    """Let nothing through (for uvicorn's raw access log)."""

    def filter(self, record: logging.LogRecord) -> bool:
        return False


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
    """Attach one handler to the ``joinedup`` logger and scrub tracebacks everywhere.

    Idempotent across app instances; the uvicorn loggers are configured by uvicorn
    before it calls the app factory, so their handlers exist by now.
    """
    logger = logging.getLogger("joinedup")
    logger.setLevel(level)
    # asyncio has no handler of its own (its records would reach Python's last-resort
    # handler as plain text): it writes through ours.
    for own in (logger, logging.getLogger("asyncio")):
        if not any(getattr(h, "_joinedup", False) for h in own.handlers):
            handler = logging.StreamHandler()
            formatter = JsonFormatter() if json_lines else logging.Formatter(logging.BASIC_FORMAT)
            handler.setFormatter(formatter)
            handler._joinedup = True  # type: ignore[attr-defined]
            own.addHandler(handler)
            own.propagate = False
    scrub = [logging.getLogger(name) for name in SCRUBBED_LOGGERS]
    for target in [logger, logging.getLogger(), *scrub]:
        for existing in target.handlers:
            _add_once(existing, NoTracebacks)
            if json_lines and target in scrub:
                existing.setFormatter(JsonFormatter())
    for source in scrub:
        _add_once(source, NoTracebacks)
    _add_once(logging.getLogger(RAW_ACCESS_LOGGER), DropAll)


def _add_once(filterer: logging.Filterer, kind: type[logging.Filter]) -> None:
    if not any(isinstance(f, kind) for f in filterer.filters):
        filterer.addFilter(kind())

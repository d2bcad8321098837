"""Bounded request headers: 431 problem+json before an oversized header is parsed.

uvicorn's default HTTP parser (httptools) puts no limit on the request line and
headers: one unauthenticated request with a 64 MB header kept the event loop busy
for about ten seconds (``/health`` waited), 128 MB for over a minute. uvicorn 0.54
offers a bound only for its h11 parser (``--h11-max-incomplete-event-size``, 16 KiB
by default), which answers 400 rather than 431 and is the slower parser.

``HeaderLimitedHttpToolsProtocol`` is uvicorn's httptools protocol with the bound
put *before* the parser: while a request's header section is arriving it counts
bytes and lines, and once either passes ``MAX_HEADER_BYTES`` or
``MAX_HEADER_COUNT`` it answers 431 Request Header Fields Too Large (RFC 6585 §5)
as problem+json and closes the connection, without feeding the parser another byte.
Run servers with it (every launcher in this repository does)::

    uvicorn node.main:create_app_from_env --factory --http appkit.header_limit:HTTP_PROTOCOL

``HTTP_PROTOCOL`` is the import string to pass as ``--http`` (or ``http=`` to
``uvicorn.run``). The limits are as nginx's defaults allow (8 KiB a line, 4 lines'
worth of buffers) plus room for long bearer tokens; a proxy in front should apply
the same or tighter ones (docs/operations.md).
"""

from __future__ import annotations

import json
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from appkit.problems import PROBLEM_MEDIA_TYPE, PROBLEM_TYPE_BASE

__all__ = [
    "HTTP_PROTOCOL",
    "MAX_HEADER_BYTES",
    "MAX_HEADER_COUNT",
    "HeaderLimitedHttpToolsProtocol",
]

HTTP_PROTOCOL = "appkit.header_limit:HeaderLimitedHttpToolsProtocol"
# The request line and every header, CRLFs included.
MAX_HEADER_BYTES = 32 * 1024
MAX_HEADER_COUNT = 100
_END = b"\r\n\r\n"


def _response_431() -> bytes:
    body = json.dumps(
        {
            "type": f"{PROBLEM_TYPE_BASE}header-fields-too-large",
            "title": "Request header fields too large",
            "status": 431,
            "detail": (
                f"the request line and headers may hold at most {MAX_HEADER_BYTES} bytes "
                f"and {MAX_HEADER_COUNT} fields"
            ),
        }
    ).encode()
    head = (
        "HTTP/1.1 431 Request Header Fields Too Large\r\n"
        f"content-type: {PROBLEM_MEDIA_TYPE}\r\n"
        f"content-length: {len(body)}\r\n"
        "connection: close\r\n\r\n"
    ).encode("ascii")
    return head + body


RESPONSE_431 = _response_431()


class HeaderLimitedHttpToolsProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol, refusing header sections over the limits with 431."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._reading_headers = True
        self._header_bytes = 0
        self._header_lines = 0
        self._tail = b""  # the last bytes seen, for a CRLF CRLF split across reads
        self._refused = False

    def data_received(self, data: bytes) -> None:
        if self._refused:
            return
        if self._reading_headers and not self._within_limits(data):
            self._refused = True
            self.transport.write(RESPONSE_431)
            self.transport.close()
            return
        super().data_received(data)

    def _within_limits(self, data: bytes) -> bool:
        window = self._tail + data
        end = window.find(_END)
        # Only the part of this read that belongs to the header section counts.
        section = data if end == -1 else data[: max(0, end + len(_END) - len(self._tail))]
        self._header_bytes += len(section)
        self._header_lines += window[: len(window) if end == -1 else end].count(b"\r\n") - (
            self._tail.count(b"\r\n")
        )
        self._tail = window[-(len(_END) - 1) :]
        if end != -1:
            self._reading_headers = False  # until the next request begins
        # Lines: the request line plus one per header field.
        return self._header_bytes <= MAX_HEADER_BYTES and self._header_lines <= MAX_HEADER_COUNT

    def on_message_complete(self) -> None:
        self._reading_headers = True
        self._header_bytes = 0
        self._header_lines = 0
        self._tail = b""
        super().on_message_complete()

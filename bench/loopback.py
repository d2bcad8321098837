"""A minimal keep-alive HTTP/1.1 load client for the benchmarks (pre-built requests).

httpx costs ~2.5 ms of CPU per request here, which on a two-core machine starves the
server under test and measures the client. This sends pre-signed requests as
pre-built bytes over ``concurrency`` connections, reads Content-Length framed
answers, and records each request's status, latency and body.
"""

from __future__ import annotations

import asyncio
import json
import time
from dataclasses import dataclass, field


@dataclass
class Fired:
    elapsed_s: float = 0.0
    statuses: list[int] = field(default_factory=list)
    latencies_s: list[float] = field(default_factory=list)
    bodies: list[bytes] = field(default_factory=list)


async def fire(host: str, port: int, path: str, tokens: list[str], concurrency: int) -> Fired:
    """POST ``{"request": token}`` for every token; the answers in completion order."""
    fired = Fired()
    pending = [
        (
            f"POST {path} HTTP/1.1\r\nHost: {host}:{port}\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\n\r\n"
        ).encode()
        + body
        for body in (json.dumps({"request": token}).encode() for token in reversed(tokens))
    ]

    async def worker() -> None:
        reader, writer = await asyncio.open_connection(host, port)
        try:
            while pending:
                started = time.perf_counter()
                writer.write(pending.pop())
                status = int((await reader.readline()).split()[1])
                length = 0
                while (line := await reader.readline()) not in (b"\r\n", b""):
                    name, _, value = line.partition(b":")
                    if name.strip().lower() == b"content-length":
                        length = int(value)
                body = await reader.readexactly(length)
                fired.latencies_s.append(time.perf_counter() - started)
                fired.statuses.append(status)
                fired.bodies.append(body)
        finally:
            writer.close()

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    fired.elapsed_s = time.perf_counter() - started
    return fired

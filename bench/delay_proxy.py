"""A forward HTTP proxy on loopback that adds a round-trip delay per destination.

Everything in a benchmark federation runs on one machine, so a call costs CPU and
no waiting, unlike a real network, where partners are tens of milliseconds away.
``bench/view.py`` points the requesting node's HTTP client at this proxy (its
``HTTP_PROXY``; httpx honours it) and gives each partner's port its own round-trip
time: half is waited before the request is passed on, half before the answer is
passed back. Connections on both sides are kept alive, so this models a network
of established connections (no connection set-up delay), as the node's one
client keeps them. Plain HTTP/1.1 with Content-Length framing only: what uvicorn
answers and httpx sends.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from urllib.parse import urlsplit


async def read_message(reader: asyncio.StreamReader) -> tuple[bytes, list[bytes], bytes]:
    """One HTTP/1.1 message: its first line, header lines and body (Content-Length)."""
    head = await reader.readuntil(b"\r\n\r\n")
    first, *headers = head[:-4].split(b"\r\n")
    length = 0
    for header in headers:
        name, _, value = header.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value.strip())
    body = await reader.readexactly(length) if length else b""
    return first, headers, body


def stop_loop_thread(loop: asyncio.AbstractEventLoop, thread: threading.Thread) -> None:
    """Cancel every connection's task on ``loop``, then stop it and join its thread."""

    async def cancel_all() -> None:
        tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    asyncio.run_coroutine_threadsafe(cancel_all(), loop).result(10)
    loop.call_soon_threadsafe(loop.stop)
    thread.join(10)


class DelayProxy:
    """The proxy; ``rtt_s`` maps a destination port to its round-trip time."""

    def __init__(self, rtt_s: Mapping[int, float]) -> None:
        self.rtt_s = dict(rtt_s)
        self.port = 0
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _serve(self) -> None:
        asyncio.set_event_loop(self._loop)
        server = self._loop.run_until_complete(asyncio.start_server(self._client, "127.0.0.1", 0))
        self.port = server.sockets[0].getsockname()[1]
        self._ready.set()
        self._loop.run_forever()
        server.close()

    async def _client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        upstreams: dict[tuple[str, int], tuple[asyncio.StreamReader, asyncio.StreamWriter]] = {}
        try:
            while True:
                first, headers, body = await read_message(reader)
                method, target, version = first.split(b" ", 2)
                url = urlsplit(target.decode())
                host, port = url.hostname or "127.0.0.1", url.port or 80
                path = (url.path or "/") + (f"?{url.query}" if url.query else "")
                headers = [h for h in headers if not h.lower().startswith(b"proxy-")]
                if (host, port) not in upstreams:
                    upstreams[(host, port)] = await asyncio.open_connection(host, port)
                up_reader, up_writer = upstreams[(host, port)]
                half = self.rtt_s.get(port, 0.0) / 2
                await asyncio.sleep(half)
                up_writer.write(
                    b"\r\n".join([b" ".join([method, path.encode(), version]), *headers])
                    + b"\r\n\r\n"
                    + body
                )
                await up_writer.drain()
                status, answer_headers, answer = await read_message(up_reader)
                await asyncio.sleep(half)
                writer.write(b"\r\n".join([status, *answer_headers]) + b"\r\n\r\n" + answer)
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError, asyncio.CancelledError):
            # Closed by the other side, or by stop_loop_thread at the end of the run.
            pass
        finally:
            writer.close()
            for _, up_writer in upstreams.values():
                up_writer.close()

    def start(self) -> None:
        self._thread.start()
        self._ready.wait(10)

    def stop(self) -> None:
        stop_loop_thread(self._loop, self._thread)


@contextmanager
def running_delay_proxy(rtt_s: Mapping[int, float]) -> Iterator[DelayProxy]:
    """A started proxy, stopped on exit."""
    proxy = DelayProxy(rtt_s)
    proxy.start()
    try:
        yield proxy
    finally:
        proxy.stop()

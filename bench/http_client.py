"""Benchmark: the requester's HTTP client, CPU per outgoing call (issue 19).

A view sends one POST per partner through the node's one ``httpx.AsyncClient``
(node/main.py). This measures the client's own CPU per call (process CPU time of
this script, which runs only the client; the server is a separate uvicorn
process answering a 2 KB JSON body, like a sealed share answer) for:

- httpx's default transport (httpcore), one client reused (connection reuse);
- ``httpx-aiohttp``'s ``AiohttpTransport`` under the same httpx API, if installed
  (an evaluation: it is not a project dependency);
- plain aiohttp, for the floor of an asyncio HTTP client here.

Each with ``--concurrency`` calls in flight, as in a fan-out. Prints PyNaCl's sign
time for comparison between runs; the last line is JSON.

    .venv/bin/python bench/http_client.py [--calls 2000] [--concurrency 5]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import httpx
from machine import sign_us

SERVER = """
import json
BODY = json.dumps({"response": "x" * 2000}).encode()
async def app(scope, receive, send):
    if scope["type"] != "http":
        return
    while (await receive()).get("more_body"):
        pass
    await send({"type": "http.response.start", "status": 200,
                "headers": [(b"content-type", b"application/json")]})
    await send({"type": "http.response.body", "body": BODY})
"""
PAYLOAD = {"request": "y" * 1500}


async def measure(call: Callable[[], Awaitable[None]], calls: int, concurrency: int) -> float:
    """Client CPU milliseconds per call (process time: this process runs only clients)."""
    for _ in range(50):
        await call()
    queue = list(range(calls))

    async def worker() -> None:
        while queue:
            queue.pop()
            await call()

    start = time.process_time()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return (time.process_time() - start) * 1000 / calls


async def run(url: str, calls: int, concurrency: int) -> dict[str, float]:
    figures: dict[str, float] = {}
    async with httpx.AsyncClient(timeout=5.0) as client:

        async def httpx_call() -> None:
            response = await client.post(url, json=PAYLOAD)
            response.raise_for_status()
            response.json()

        figures["httpx_cpu_ms_per_call"] = await measure(httpx_call, calls, concurrency)
    try:
        from httpx_aiohttp import AiohttpTransport
    except ImportError:
        pass
    else:
        async with httpx.AsyncClient(transport=AiohttpTransport(), timeout=5.0) as client:
            figures["httpx_aiohttp_cpu_ms_per_call"] = await measure(httpx_call, calls, concurrency)
    import aiohttp

    async with aiohttp.ClientSession() as session:

        async def aiohttp_call() -> None:
            async with session.post(url, json=PAYLOAD) as response:
                response.raise_for_status()
                await response.json()

        figures["aiohttp_cpu_ms_per_call"] = await measure(aiohttp_call, calls, concurrency)
    return figures


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--calls", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=5)
    args = parser.parse_args()
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from joinedup.localfed import free_port

    port = free_port()
    with tempfile.TemporaryDirectory(prefix="bench-http-") as tmp:
        (Path(tmp) / "answer_app.py").write_text(SERVER)
        server = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "uvicorn",
                "answer_app:app",
                "--port",
                str(port),
                "--log-level",
                "warning",
                "--app-dir",
                tmp,
            ],
        )
        try:
            url = f"http://127.0.0.1:{port}/answer"
            for _ in range(100):
                try:
                    httpx.post(url, json=PAYLOAD, timeout=1.0)
                    break
                except httpx.TransportError:
                    time.sleep(0.1)
            figures = asyncio.run(run(url, args.calls, args.concurrency))
        finally:
            server.terminate()
            server.wait(timeout=10)
    figures["pynacl_sign_us"] = sign_us()
    for name, value in figures.items():
        print(f"  {name:32s} {value:8.3f}")
    print(json.dumps({k: round(v, 3) for k, v in figures.items()}))


if __name__ == "__main__":
    main()

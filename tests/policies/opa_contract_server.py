"""A stand-in OPA server for contract tests: OPA's Data API over real HTTP on loopback.

No OPA binary can be installed on these machines, so ``OpaServerEngine`` is tested
against this server instead. It implements the parts of OPA's documented REST API
the engine uses (https://www.openpolicyagent.org/docs/rest-api):

- ``POST /v1/data/{path}`` with ``{"input": ...}`` -> 200 ``{"result": value}``;
  an undefined document -> 200 ``{}`` (no ``result`` key); a body that is not
  JSON -> 400 ``{"code": "invalid_parameter", ...}``; an evaluation error -> 500.
- ``GET /health`` -> 200 ``{}``.

It evaluates the repository's policies with regopy, loaded exactly as OPA's
directory loader would. This is a *contract* test of the client side, not a test
of OPA itself. ``mode`` makes it misbehave on purpose (slow, 500, garbage, ...).
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from regopy import Interpreter, LogLevel

from node.policy.embedded import compile_bundle
from node.policy.engine import PACKAGES
from node.policy.loader import load_policy_source

MODES = ("normal", "slow", "error500", "garbage", "no_result", "wrong_type", "empty_decision")


class OpaContractServer(ThreadingHTTPServer):
    """The server; ``mode`` and ``delay_s`` may be changed while it runs."""

    daemon_threads = True

    def __init__(self, policy_dir: Path) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        source = load_policy_source(policy_dir)
        self.bundle = compile_bundle(source)
        self.entrypoints = {f"joinedup/{p}/decision" for p in PACKAGES}
        self.mode = "normal"
        self.delay_s = 0.0
        self.requests_seen = 0

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that gave up (the timeout test) is expected; stay quiet."""

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"

    def evaluate(self, path: str, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        """Evaluate ``data.<path>`` for the body's input, answering as OPA would."""
        if path not in self.entrypoints:
            return 200, {}
        # A fresh interpreter per request: regopy interpreters are not thread-safe.
        interpreter = Interpreter()
        interpreter.log_level = LogLevel.NONE
        if "input" in body:
            interpreter.set_input_term(json.dumps(body["input"]))
        output = interpreter.query_bundle_entrypoint(self.bundle, path)
        if not output.ok():
            return 500, {"code": "internal_error", "message": "evaluation failed"}
        text = str(output)
        if text == "undefined":
            return 200, {}
        expressions = json.loads(text).get("expressions", [])
        if len(expressions) != 1:
            return 200, {}
        return 200, {"result": expressions[0]}


class _Handler(BaseHTTPRequestHandler):
    server: OpaContractServer

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
        """Keep test output quiet."""

    def _send(self, status: int, body: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:  # noqa: N802 - stdlib naming
        if self.path == "/health":
            self._send(200, b"{}")
        else:
            self._send(404, b'{"code": "resource_not_found"}')

    def do_POST(self) -> None:  # noqa: N802 - stdlib naming
        server = self.server
        server.requests_seen += 1
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length)
        if not self.path.startswith("/v1/data/"):
            self._send(404, b'{"code": "resource_not_found"}')
            return
        mode = server.mode
        if mode == "slow":
            time.sleep(server.delay_s)
        if mode == "error500":
            self._send(500, b'{"code": "internal_error", "message": "boom"}')
            return
        if mode == "garbage":
            self._send(200, b"<html>not json</html>")
            return
        if mode == "no_result":
            self._send(200, b"{}")
            return
        if mode == "wrong_type":
            self._send(200, b'{"result": true}')
            return
        if mode == "empty_decision":
            self._send(200, b'{"result": {}}')
            return
        try:
            body = json.loads(raw or b"{}")
        except ValueError:
            self._send(400, b'{"code": "invalid_parameter", "message": "body is not JSON"}')
            return
        if not isinstance(body, dict):
            self._send(400, b'{"code": "invalid_parameter", "message": "body is not an object"}')
            return
        status, answer = server.evaluate(self.path[len("/v1/data/") :].split("?")[0], body)
        self._send(status, json.dumps(answer).encode())


@contextmanager
def running_opa_contract_server(policy_dir: Path) -> Iterator[OpaContractServer]:
    """Start the server on a free loopback port in a thread; stop it afterwards."""
    server = OpaContractServer(policy_dir)
    thread = threading.Thread(target=server.serve_forever, name="opa-contract", daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)

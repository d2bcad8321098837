"""The production policy engine: an OPA server (sidecar) asked over its Data API.

``POST /v1/data/joinedup/<package>/decision`` with ``{"input": ...}`` answers
``200 {"result": <decision>}``. OPA answers an *undefined* decision with 200 and
no ``result`` key; that is a denial, as is every other failure: connection
refused, timeout (``timeout_s``, no retries, so the node's deadline holds),
non-2xx status, a body that is not JSON or a result that is not a decision.
The OPA server loads the same ``policies/`` directory and reloads it itself
(``opa run --server --watch``), so ``reload()`` only drops pooled connections.
Client: opa-python-client's ``OpaClient`` (requests-based), one per thread.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

import requests
from opa_client import OpaClient

from node.policy.engine import (
    PolicyDecision,
    PolicyEngineError,
    check_package,
    engine_error,
    settle_decision,
)


class OpaServerEngine:
    """``PolicyEngine`` backed by an OPA server's Data API."""

    def __init__(self, url: str, *, timeout_s: float = 1.0, token: str | None = None) -> None:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"OPA url must be http(s)://host:port, got {url!r}")
        self.url = url
        self.timeout_s = timeout_s
        self._host = parts.hostname
        self._ssl = parts.scheme == "https"
        self._port = parts.port or (443 if self._ssl else 80)
        self._token = token
        self._local = threading.local()
        self._generation = 0

    def _client(self) -> OpaClient:
        local = self._local
        if getattr(local, "generation", None) != self._generation:
            # requests.Session is not documented as thread-safe: one client per thread.
            local.client = OpaClient(
                host=self._host,
                port=self._port,
                ssl=self._ssl,
                token=self._token,
                retries=0,
                timeout=self.timeout_s,
            )
            local.generation = self._generation
        client: OpaClient = local.client
        return client

    def reload(self) -> None:
        """OPA reloads policies itself; start fresh connections on every thread."""
        self._generation += 1

    def query(self, package: str, input: Mapping[str, Any]) -> Any:
        """The raw Data API answer for ``joinedup/<package>/decision`` (raises on failure)."""
        check_package(package)
        try:
            answer = self._client().query_rule(
                input_data=dict(input), package_path=f"joinedup/{package}", rule_name="decision"
            )
        except requests.Timeout as exc:
            raise PolicyEngineError(f"OPA did not answer within {self.timeout_s} s") from exc
        except requests.HTTPError as exc:
            status = exc.response.status_code if exc.response is not None else "no"
            raise PolicyEngineError(f"OPA answered status {status}") from exc
        except ValueError as exc:  # includes requests' JSONDecodeError
            raise PolicyEngineError("OPA answered something that is not JSON") from exc
        except requests.RequestException as exc:
            raise PolicyEngineError(f"OPA unreachable ({type(exc).__name__})") from exc
        if not isinstance(answer, dict):
            raise PolicyEngineError("OPA answer is not an object")
        if "result" not in answer:
            raise PolicyEngineError(f"decision joinedup.{package}.decision is undefined")
        return answer["result"]

    def decide(self, package: str, input: Mapping[str, Any]) -> PolicyDecision:
        """Ask OPA for ``joinedup.<package>.decision``; every failure is a denial."""
        try:
            raw = self.query(package, input)
        except PolicyEngineError as exc:
            return engine_error(str(exc))
        except Exception as exc:  # noqa: BLE001 - fail closed on anything unexpected
            return engine_error(f"unexpected {type(exc).__name__}")
        return settle_decision(package, input, raw)

"""Following the authority's published registry over HTTP (conditional GET, RFC 9110 §13.1.2).

The federation authority publishes the signed registry at a URL (``joinedup registry
serve``, or any web server that sends an ``ETag``). A member polls it: each poll sends
``If-None-Match`` with the last ``ETag``, so an unchanged registry costs one 304 and no
body. A changed one is verified under the authority key before anything else looks at
it (``federation.registry.verify_registry``); transport is never trusted, only the
signature. A bad answer raises ``RegistryInvalid`` and leaves the caller's registry in
force (fail closed: a member is added or removed only by a signed registry).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx
from nacl.signing import VerifyKey

from federation.errors import RegistryInvalid
from federation.registry import Registry, verify_registry

__all__ = ["RegistryFeed"]

# A registry of a few hundred members is tens of kilobytes; refuse anything absurd.
MAX_REGISTRY_BYTES = 5_000_000


@dataclass
class RegistryFeed:
    """One registry URL, the authority key its documents must verify under, the last ETag."""

    url: str
    authority_key: VerifyKey
    etag: str | None = None

    async def poll(self, http: httpx.AsyncClient) -> tuple[Registry, dict[str, Any]] | None:
        """The verified registry and its signed form if changed since the last poll, else None."""
        headers = {"Accept": "application/json"}
        if self.etag:
            headers["If-None-Match"] = self.etag
        try:
            response = await http.get(self.url, headers=headers)
        except httpx.HTTPError as exc:
            raise RegistryInvalid(f"registry URL unreachable: {type(exc).__name__}") from exc
        if response.status_code == 304:
            return None
        if response.status_code != 200:
            raise RegistryInvalid(f"registry URL answered {response.status_code}")
        if len(response.content) > MAX_REGISTRY_BYTES:
            raise RegistryInvalid("registry document is too large")
        try:
            signed = response.json()
        except ValueError as exc:
            raise RegistryInvalid("registry URL did not answer JSON") from exc
        registry = verify_registry(signed, self.authority_key)
        self.etag = response.headers.get("etag")
        return registry, signed

"""Errors of the demo launcher and seed.

SeedError          seeding could not finish (which step, what the server said)
"""

from __future__ import annotations

from typing import Any

import httpx


class SeedError(RuntimeError):
    """Seeding could not finish; the message says which step and what the server said."""


class DemoPortInUse(RuntimeError):
    """A port the demo needs is already taken (often: a demo is already running)."""


def checked_json(response: httpx.Response, step: str) -> Any:
    """The JSON body of a successful answer; ``SeedError`` naming ``step`` otherwise."""
    if response.status_code >= 400:
        raise SeedError(f"{step}: HTTP {response.status_code} {response.text[:500]}")
    return response.json()

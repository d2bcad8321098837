"""Deployment files pin every third-party image to a version.

A ``latest`` tag would let a redeploy silently pick up a different OPA (or
database) than the one the policies were tested with.
"""

from __future__ import annotations

import re
from pathlib import Path

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
IMAGE = re.compile(r"^\s*image:\s*([^\s#]+)", re.MULTILINE)
OWN_IMAGE = "joinedup"  # built from this repository by deploy/Dockerfile


def _images() -> list[tuple[str, str]]:
    return [
        (path.name, image)
        for path in sorted(DEPLOY.rglob("*.yaml"))
        for image in IMAGE.findall(path.read_text())
    ]


def test_third_party_images_are_pinned_to_a_version() -> None:
    third_party = [(name, image) for name, image in _images() if not image.startswith(OWN_IMAGE)]
    assert any(image.startswith("openpolicyagent/opa:") for _, image in third_party)
    unpinned = [
        (name, image)
        for name, image in third_party
        if ":" not in image or image.rsplit(":", 1)[1] in ("latest", "")
    ]
    assert unpinned == []

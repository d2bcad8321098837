"""The authority's published registry, followed by real nodes: members come and go without restarts.

The authority's registry is served by ``joinedup.registry_server`` (a real uvicorn
process); each node is configured with ``JOINEDUP_NODE_REGISTRY_URL`` and its own
cache file, never the authority's file, so everything a node learns it learns by
polling the URL. Requests are signed with the members' real keys and sent to the
nodes' real ``/federation/share`` endpoint.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from federation.keys import MemberKeys
from federation.registry import Member, new_document, sign_registry
from joinedup.localfed import free_port
from tests.fixtures.federation import RunningFederation, start_federation
from tests.fixtures.servers import RunningServer, ServerSpec, uvicorn_process

pytestmark = pytest.mark.e2e

ORGS = [
    ("council", "council", "Riverside Council"),
    ("gp", "gp", "Riverside GP"),
    ("police", "police", "Riverside Police"),
]
POLL_S = 2.0
# One poll interval, plus what a loaded two-core machine needs to run it and answer.
ONE_POLL_S = POLL_S + 3.0


@dataclass
class Feed:
    fed: RunningFederation
    publisher: RunningServer

    @property
    def url(self) -> str:
        return f"{self.publisher.base_url}/registry.json"

    def publish(self, change: Any, *, key: Any = None) -> int:
        """Sign the next registry version with ``change`` applied to its members."""
        path = self.fed.registry_path
        current = json.loads(path.read_text())["registry"]
        members = [Member.model_validate(m) for m in current["members"]]
        version = int(current["version"]) + 1
        document = new_document(current["federation"], version, change(members))
        signed = sign_registry(document, key or self.fed.authority_key)
        tmp = path.with_suffix(".next")
        tmp.write_text(json.dumps(signed, indent=2))
        tmp.replace(path)
        return version


@pytest.fixture(scope="module")
def feed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Feed]:
    root: Path = tmp_path_factory.mktemp("feed")
    # The publisher serves the authority's file, which start_federation writes next.
    spec = ServerSpec(
        "registry",
        "joinedup.registry_server:create_registry_server_from_env",
        {"JOINEDUP_REGISTRY_FILE": str(root / "registry.json")},
        free_port(),
    )
    with uvicorn_process(spec, root / "publisher-logs") as publisher:
        url = f"{publisher.base_url}/registry.json"
        node_env = {
            org_id: {
                "JOINEDUP_NODE_REGISTRY_URL": url,
                "JOINEDUP_NODE_REGISTRY_PATH": str(root / "caches" / f"{org_id}.json"),
                "JOINEDUP_NODE_REGISTRY_POLL_S": str(POLL_S),
            }
            for org_id, _, _ in ORGS
        }
        follow = {
            "JOINEDUP_CONSENT_REGISTRY_URL": url,
            "JOINEDUP_CONSENT_REGISTRY_PATH": str(root / "caches" / "consent.json"),
            "JOINEDUP_CONSENT_REGISTRY_POLL_S": str(POLL_S),
        }
        with start_federation(
            root, ORGS, consent=True, node_env=node_env, consent_env=follow
        ) as fed:
            yield Feed(fed, publisher)


def member(org_id: str, keys: MemberKeys) -> Member:
    """A registry entry for an organisation that is not running (its requests come from tests)."""
    return Member(
        org_id=org_id,
        name=org_id.title(),
        kind="charity",
        base_url="http://127.0.0.1:9",
        verify_keys=[keys.verify_key_b64],
        encryption_key=keys.public_key_b64,
    )


def ask(feed: Feed, issuer: str, holder: str, keys: MemberKeys | None = None) -> httpx.Response:
    body = {
        "subject_id": "sub_feed",
        "purpose": "care_coordination",
        "categories": [],
        "staff_role": "coordinator",
        "staff_pseudonym": "stf_feed",
        "consent_token": None,
        "emergency": None,
    }
    token = feed.fed.sign(issuer, holder, "share", body, keys=keys)
    return feed.fed.post(holder, "/federation/share", token)


def unknown_member(response: httpx.Response) -> bool:
    return response.status_code == 403 and response.json()["type"].endswith("/unknown-member")


def wait_until(check: Any, timeout: float) -> float:
    """Seconds until ``check()`` is true; fails after ``timeout``."""
    started = time.monotonic()
    while not check():
        assert time.monotonic() - started < timeout, "not within one registry poll"
        time.sleep(0.1)
    return time.monotonic() - started


def test_unchanged_registry_costs_a_304(feed: Feed) -> None:
    first = httpx.get(feed.url)
    assert first.status_code == 200
    etag = first.headers["etag"]
    again = httpx.get(feed.url, headers={"If-None-Match": etag})
    assert again.status_code == 304
    assert again.content == b""


def test_new_member_appears_at_every_node_without_restart(feed: Feed) -> None:
    newcomer = MemberKeys.generate()
    assert all(unknown_member(ask(feed, "refuge", h, newcomer)) for h in ("council", "gp"))
    feed.publish(
        lambda members: [
            *members,
            member("refuge", newcomer),
        ]
    )
    wait_until(
        lambda: (
            not any(unknown_member(ask(feed, "refuge", h, newcomer)) for h in ("council", "gp"))
        ),
        ONE_POLL_S,
    )


def enrol_at_consent(feed: Feed, issuer: str) -> httpx.Response:
    body = {"linkage_tokens": ["v1.nn." + "0" * 64]}
    token = feed.fed.sign(issuer, "consent", "enrol", body)
    return feed.fed.post("consent", "/federation/enrol", token)


def test_removed_member_is_refused_at_every_node_within_one_poll(feed: Feed) -> None:
    assert not unknown_member(ask(feed, "police", "council"))
    assert not unknown_member(ask(feed, "police", "gp"))
    assert not unknown_member(enrol_at_consent(feed, "police"))
    version = feed.publish(lambda members: [m for m in members if m.org_id != "police"])
    wait_until(
        lambda: (
            all(unknown_member(ask(feed, "police", h)) for h in ("council", "gp"))
            and unknown_member(enrol_at_consent(feed, "police"))
        ),
        ONE_POLL_S,
    )
    # Each node keeps the version it learnt, for a restart while the authority is away.
    cache = feed.fed.root / "caches" / "gp.json"
    assert json.loads(cache.read_text())["registry"]["version"] == version


def test_registry_not_signed_by_the_authority_is_ignored(feed: Feed) -> None:
    forger = MemberKeys.generate()
    impostor = MemberKeys.generate()
    feed.publish(
        lambda members: [
            *members,
            member("impostor", impostor),
        ],
        key=forger.signing_key,
    )
    # The nodes have fetched it (and said why they refused it) ...
    wait_until(
        lambda: all(
            "registry signature does not verify" in feed.fed.servers[h].log()
            for h in ("council", "gp")
        ),
        ONE_POLL_S,
    )
    # ... and nothing changed: the impostor is unknown, the members still are members.
    assert unknown_member(ask(feed, "impostor", "gp", impostor))
    assert not unknown_member(ask(feed, "council", "gp"))

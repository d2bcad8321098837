"""The consent service's replay cache lives in its database, shared by its processes."""

from __future__ import annotations

import datetime as dt

from federation.envelope import ReplayCache, sign_request
from federation.linkage import linkage_tokens
from federation.wire.enrol import EnrolRequest
from tests.consent.conftest import LINKAGE_KEY


def test_a_request_replayed_to_another_process_is_refused(world) -> None:
    tokens = linkage_tokens(
        key=LINKAGE_KEY,
        family_name="Replay",
        given_name="Rita",
        date_of_birth=dt.date(1970, 5, 6),
        postcode="AB1 2CD",
    )
    token = sign_request(
        EnrolRequest(linkage_tokens=tokens),
        keys=world.keys["council"],
        issuer="council",
        audience="consent",
    )
    first = world.client.post("/federation/enrol", json={"request": token})
    assert first.status_code == 200, first.text
    app = world.client.app
    # Another process of the service: its in-memory cache has never seen the request.
    own_cache, app.state.replay_cache = app.state.replay_cache, ReplayCache()
    app.state.replay_cache.not_before = 0
    try:
        replayed = world.client.post("/federation/enrol", json={"request": token})
    finally:
        app.state.replay_cache = own_cache
    assert replayed.status_code == 409
    assert replayed.json()["type"].endswith("request-replayed")

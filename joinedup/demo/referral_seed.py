"""The scenario's referrals, made and worked through the nodes' staff referral API.

Each referral goes the way a real one does: the sender's co-ordinator refers the
person (``POST /api/referrals``); the sender's outbox delivers the signed offer and
the receiver decides under its policy; once the receiver holds it, its
co-ordinator accepts it naming the worker and, when the scenario gives an outcome,
completes it (``POST /api/referrals/{id}/transitions``); each change travels back as
a signed status message. The seed waits until the sender has seen the last change,
so the demo opens on a settled story: one referral completed, one open.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import httpx

from joinedup.demo.exceptions import SeedError
from joinedup.demo.exceptions import checked_json as _check
from joinedup.demo.scenario import ReferralSpec, Scenario
from joinedup.localfed import LocalFederation

WAIT_S = 60.0
POLL_S = 0.1


def _wait_for(what: str, probe: Callable[[], bool], timeout_s: float = WAIT_S) -> None:
    deadline = time.monotonic() + timeout_s
    while not probe():
        if time.monotonic() > deadline:
            raise SeedError(f"gave up waiting {timeout_s:.0f} s for {what}")
        time.sleep(POLL_S)


def _state(client: httpx.Client, base_url: str, token: str, referral_id: str) -> str | None:
    answer = client.get(
        f"{base_url}/api/referrals/{referral_id}", headers={"Authorization": f"Bearer {token}"}
    )
    if answer.status_code == 404:
        return None
    body: dict[str, Any] = _check(answer, f"{base_url}: read referral")
    return str(body["referral"]["state"])


def _move(
    client: httpx.Client, base_url: str, token: str, referral_id: str, body: dict[str, Any]
) -> None:
    _check(
        client.post(
            f"{base_url}/api/referrals/{referral_id}/transitions",
            json=body,
            headers={"Authorization": f"Bearer {token}"},
        ),
        f"{base_url}: move referral to {body['to_state']}",
    )


def make_referral(
    client: httpx.Client,
    federation: LocalFederation,
    spec: ReferralSpec,
    *,
    subject_id: str,
    tokens: dict[str, str],
) -> str:
    """Refer, accept and (if the spec says) complete one referral; its id."""
    sender = federation.node(spec.sender).base_url
    receiver = federation.node(spec.receiver).base_url
    created = _check(
        client.post(
            f"{sender}/api/referrals",
            json={
                "subject_id": subject_id,
                "to_org": spec.receiver,
                "category": spec.category,
                "purpose": spec.purpose,
                "urgency": spec.urgency,
                "reason": spec.reason.strip(),
                "person_told": spec.person_told.strip(),
            },
            headers={"Authorization": f"Bearer {tokens[spec.sender]}"},
        ),
        f"{spec.sender}: refer {spec.person} to {spec.receiver}",
    )
    referral_id = str(created["id"])
    _wait_for(
        f"{spec.receiver} to receive referral {referral_id}",
        lambda: _state(client, receiver, tokens[spec.receiver], referral_id) == "received",
    )
    _move(
        client,
        receiver,
        tokens[spec.receiver],
        referral_id,
        {"to_state": "accepted", "worker": spec.worker},
    )
    final = "accepted"
    if spec.outcome is not None:
        _move(
            client,
            receiver,
            tokens[spec.receiver],
            referral_id,
            {
                "to_state": "completed",
                "reason_code": spec.outcome,
                "note": spec.outcome_note or None,
            },
        )
        final = "completed"
    _wait_for(
        f"{spec.sender} to hear that referral {referral_id} is {final}",
        lambda: _state(client, sender, tokens[spec.sender], referral_id) == final,
    )
    return referral_id


def seed_referrals(
    client: httpx.Client,
    federation: LocalFederation,
    scenario: Scenario,
    *,
    subjects: dict[str, str],
    tokens: dict[str, str],
) -> list[str]:
    """Every referral of the scenario, in order; their ids."""
    return [
        make_referral(client, federation, spec, subject_id=subjects[spec.person], tokens=tokens)
        for spec in scenario.referrals
    ]

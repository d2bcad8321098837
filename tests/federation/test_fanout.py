"""fan_out against in-process partners (httpx.MockTransport): every status, never a raise."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Awaitable, Callable

import httpx
import pytest

from federation.envelope import ReplayCache, seal_response, verify_request
from federation.fanout import SHARE_PATH, build_calls, fan_out
from federation.jose import read_unverified_claims
from federation.wire.audit import AuditTrace
from tests.fixtures.wire import unchecked

ME = "council"
SUBJECT = "sub_abc"
Behaviour = Callable[[httpx.Request, dict], Awaitable[httpx.Response] | httpx.Response]


def share_body(org_id: str, *, allow: bool = True, known: bool = True) -> dict:
    return {
        "org_id": org_id,
        "org_name": org_id.title(),
        "org_kind": "gp",
        "subject_id": SUBJECT,
        "known": known,
        "decision": {
            "allow": allow,
            "categories": ["housing"] if allow else [],
            "withheld": [],
            "obligations": [],
            "reasons": ["released under the care agreement" if allow else "no consent"],
        },
        "needs": [],
        "actions": [],
        "contacts": [],
        "coordinator": None,
    }


class Partners:
    """In-process partners: each verifies the signed request and seals an answer."""

    def __init__(self, federation) -> None:
        self.federation = federation
        self.caches = {org: ReplayCache() for org in federation.keys}
        self.behaviour: dict[str, Behaviour] = {}
        self.seen: dict[str, dict] = {}

    def sealed(self, org: str, verified, body: dict, *, signer: str | None = None) -> str:
        return seal_response(
            keys=self.federation.keys[signer or org],
            issuer=signer or org,
            audience=verified.issuer,
            request_id=verified.request_id,
            body=body,
            recipient_key=self.federation.registry.public_key(verified.issuer),
        )

    async def handle(self, request: httpx.Request) -> httpx.Response:
        org = request.url.host.removesuffix(".invalid")
        assert request.url.path == SHARE_PATH
        token = json.loads(request.content)["request"]
        verified = verify_request(
            token,
            registry=self.federation.registry,
            audience=org,
            replay_cache=self.caches[org],
            expected_action="share",
        )
        self.seen[org] = {"request_id": verified.request_id, "body": verified.body}
        behaviour = self.behaviour.get(org)
        if behaviour is not None:
            answer = behaviour(request, {"org": org, "verified": verified})
            return await answer if asyncio.iscoroutine(answer) else answer  # type: ignore[return-value]
        return httpx.Response(200, json={"response": self.sealed(org, verified, share_body(org))})


@pytest.fixture
def partners(federation) -> Partners:
    return Partners(federation)


@pytest.fixture
async def client(partners):
    async with httpx.AsyncClient(transport=httpx.MockTransport(partners.handle)) as http:
        yield http


def calls_for(federation, **body_overrides):
    body = {"subject_id": SUBJECT, "purpose": "care_coordination", "categories": []}
    body.update(body_overrides)
    return build_calls(
        registry=federation.registry,
        keys=federation.keys[ME],
        me=ME,
        message=unchecked("share", body),
        path=SHARE_PATH,
    )


def by_org(results):
    return {r.org_id: r for r in results}


async def test_every_organisation_is_asked_including_self_with_its_own_request_id(
    federation, partners, client
):
    calls = calls_for(federation)
    assert [c.org_id for c in calls] == ["council", "gp", "police"]  # not the consent service
    results = await fan_out(client=client, calls=calls, deadline_s=2)
    assert [r.org_id for r in results] == ["council", "gp", "police"]
    assert all(r.status == "ok" and r.reason is None for r in results)
    assert {r.org_id: r.body["org_id"] for r in results} == {o: o for o in partners.seen}
    ids = [partners.seen[o]["request_id"] for o in ("council", "gp", "police")]
    assert len(set(ids)) == 3
    assert partners.seen["gp"]["body"]["subject_id"] == SUBJECT


async def test_policy_denial_and_unknown_subject_are_told_apart(federation, partners, client):
    def deny(request, ctx):
        body = share_body(ctx["org"], allow=False)
        return httpx.Response(
            200, json={"response": partners.sealed(ctx["org"], ctx["verified"], body)}
        )

    def unknown(request, ctx):
        body = share_body(ctx["org"], known=False)
        return httpx.Response(
            200, json={"response": partners.sealed(ctx["org"], ctx["verified"], body)}
        )

    partners.behaviour = {"gp": deny, "police": unknown}
    results = by_org(await fan_out(client=client, calls=calls_for(federation), deadline_s=2))
    assert results["gp"].status == "denied"
    assert results["gp"].reason == "no consent"
    assert results["police"].status == "ok"
    assert results["police"].reason == "not known here"


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        (403, "denied"),
        (401, "error"),
        (422, "error"),
        (409, "error"),
        (500, "error"),
        (503, "unavailable"),
        (504, "unavailable"),
    ],
)
async def test_problem_answers_map_to_a_source_status(
    federation, partners, client, status, expected
):
    problem = {"type": "about:blank", "title": "Refused", "status": status, "detail": "because"}
    partners.behaviour = {
        "gp": lambda request, ctx: httpx.Response(
            status, json=problem, headers={"content-type": "application/problem+json"}
        )
    }
    results = by_org(await fan_out(client=client, calls=calls_for(federation), deadline_s=2))
    assert results["gp"].status == expected
    assert results["gp"].body is None
    assert "because" in (results["gp"].reason or "")
    assert results["gp"].http_status == status
    assert results["council"].status == "ok"


async def test_a_slow_partner_is_unavailable_and_the_rest_arrive_within_the_deadline(
    federation, partners, client
):
    async def slow(request, ctx):
        await asyncio.sleep(30)
        raise AssertionError("never reached")

    partners.behaviour = {"police": slow}
    started = time.perf_counter()
    results = by_org(await fan_out(client=client, calls=calls_for(federation), deadline_s=0.3))
    elapsed = time.perf_counter() - started
    assert results["police"].status == "unavailable"
    assert results["police"].reason == "no answer within the deadline"
    assert results["police"].body is None
    assert results["gp"].status == "ok"
    assert results["council"].status == "ok"
    assert elapsed < 0.3 + 5  # bounded by the deadline, with generous slack


async def test_a_dead_partner_is_unavailable(federation, partners, client):
    def refuse(request, ctx):
        raise httpx.ConnectError("connection refused", request=request)

    partners.behaviour = {"gp": refuse}
    results = by_org(await fan_out(client=client, calls=calls_for(federation), deadline_s=2))
    assert results["gp"].status == "unavailable"
    assert results["gp"].reason == "partner unreachable"


def _flip(token: str, index: int) -> str:
    char = token[index]
    return token[:index] + ("A" if char != "A" else "B") + token[index + 1 :]


@pytest.mark.parametrize("where", ["payload", "signature"])
async def test_a_tampered_answer_is_an_error_and_nothing_of_it_is_kept(
    federation, partners, client, where
):
    def tamper(request, ctx):
        token = partners.sealed(ctx["org"], ctx["verified"], share_body(ctx["org"]))
        header, payload, signature = token.split(".")
        index = len(header) + 1 + len(payload) // 2 if where == "payload" else len(token) - 10
        return httpx.Response(200, json={"response": _flip(token, index)})

    partners.behaviour = {"gp": tamper}
    results = by_org(await fan_out(client=client, calls=calls_for(federation), deadline_s=2))
    assert results["gp"].status == "error"
    assert results["gp"].reason == "invalid response"
    assert results["gp"].body is None
    assert results["police"].status == "ok"


async def test_answers_signed_by_someone_else_or_for_another_question_are_rejected(
    federation, partners, client
):
    def impostor(request, ctx):  # police signs an answer posing as the GP
        body = share_body("gp")
        token = partners.sealed("gp", ctx["verified"], body, signer="police")
        return httpx.Response(200, json={"response": token})

    def wrong_subject(request, ctx):
        body = {**share_body(ctx["org"]), "subject_id": "sub_other"}
        return httpx.Response(
            200, json={"response": partners.sealed(ctx["org"], ctx["verified"], body)}
        )

    def not_json(request, ctx):
        return httpx.Response(200, content=b"<html>hello</html>")

    partners.behaviour = {"gp": impostor, "police": wrong_subject, "council": not_json}
    results = await fan_out(client=client, calls=calls_for(federation), deadline_s=2)
    assert [(r.status, r.reason, r.body) for r in results] == [
        ("error", "invalid response", None)
    ] * 3


async def test_an_answer_to_an_earlier_request_is_rejected(federation, partners, client):
    first = await fan_out(client=client, calls=calls_for(federation), deadline_s=2)
    assert all(r.status == "ok" for r in first)
    old_request_id = partners.seen["gp"]["request_id"]

    def replay(request, ctx):
        verified = ctx["verified"].model_copy(update={"request_id": old_request_id})
        return httpx.Response(
            200, json={"response": partners.sealed("gp", verified, share_body("gp"))}
        )

    partners.behaviour = {"gp": replay}
    results = by_org(await fan_out(client=client, calls=calls_for(federation), deadline_s=2))
    assert results["gp"].status == "error"


async def test_a_non_positive_deadline_is_refused(federation, client):
    with pytest.raises(ValueError, match="deadline"):
        await fan_out(client=client, calls=calls_for(federation), deadline_s=0)


def test_each_partner_can_be_sent_its_own_message_at_the_path_of_its_action(federation):
    """The fan-out signs whatever message it is given, for the path given: nothing is share-only."""
    calls = build_calls(
        registry=federation.registry,
        keys=federation.keys[ME],
        me=ME,
        message=lambda member: AuditTrace(request_id=f"view_{member.org_id}"),
        path="/federation/audit/trace",
    )
    assert [c.org_id for c in calls] == ["council", "gp", "police"]
    for call in calls:
        claims = read_unverified_claims(call.request)
        assert claims["act"] == "audit_trace"
        assert claims["aud"] == call.org_id
        assert claims["body"] == {"request_id": f"view_{call.org_id}"}
        assert call.url.endswith("/federation/audit/trace")

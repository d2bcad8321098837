"""The fan-out client: ask every partner at once, each bounded by a deadline.

DESIGN "Federation protocol": a node that assembles a joined-up view asks all
relevant members concurrently; a slow or dead partner yields a source marked
``unavailable``, never a failed view, so the view's latency is bounded by the
deadline rather than by the slowest partner.

``build_calls`` signs one request per partner for the path that serves its action:
a ``federation.wire`` message, the same for every partner or made for each, and each
with its own ``jti``, so every partner's replay cache sees a fresh id. ``fan_out``
sends them through the app's one ``httpx.AsyncClient`` (passed in; a test passes an
in-process transport). Each answer is classified without ever raising:

    ok           200, signature and seal check out, ``decision.allow`` true
                 (``known`` false is still ok: "not known here")
    denied       200 with ``decision.allow`` false, or a 403 problem answer
    unavailable  timeout, connection failure, or 502/503/504
    error        any other answer, or one that fails ``open_response`` ("invalid
                 response"): it is never trusted and nothing from it is shown

Only the opened, verified body of an ``ok`` or ``denied`` source is kept; the raw
bytes of a rejected answer are dropped.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import httpx
from pydantic import BaseModel, Field

from federation.envelope import new_request_id, open_response, sign_request
from federation.errors import JoinedUpError
from federation.keys import MemberKeys
from federation.registry import Member, Registry
from federation.wire import WireMessage

__all__ = [
    "SHARE_PATH",
    "PartnerCall",
    "ResponseOpener",
    "SourceResult",
    "SourceStatus",
    "build_calls",
    "fan_out",
]

log = logging.getLogger("joinedup.federation.fanout")

SHARE_PATH = "/federation/share"
SourceStatus = Literal["ok", "denied", "unavailable", "error"]
INVALID_RESPONSE = "invalid response"
# A partner's problem text is shown to staff; keep it short.
MAX_REASON_CHARS = 300


@dataclass(frozen=True)
class ResponseOpener:
    """What the requester needs to check a partner's signed answer and open its seal."""

    registry: Registry
    keys: MemberKeys
    me: str
    retired_keys: tuple[MemberKeys, ...] = ()

    def open(self, token: str, *, expected_issuer: str, request_id: str) -> dict[str, Any]:
        return open_response(
            token,
            registry=self.registry,
            keys=self.keys,
            me=self.me,
            expected_issuer=expected_issuer,
            request_id=request_id,
            retired_keys=list(self.retired_keys),
        )


@dataclass(frozen=True)
class PartnerCall:
    """One signed request, ready to send to one partner."""

    org_id: str
    org_name: str
    org_kind: str
    url: str
    request: str = field(repr=False)
    request_id: str
    subject_id: str
    opener: ResponseOpener = field(repr=False)


class SourceResult(BaseModel):
    """How one partner answered: status, time taken and, if trusted, its opened body."""

    org_id: str
    org_name: str
    org_kind: str
    status: SourceStatus
    latency_ms: float = Field(ge=0)
    reason: str | None = None
    http_status: int | None = None
    body: dict[str, Any] | None = Field(default=None, repr=False)


def build_calls(
    *,
    registry: Registry,
    keys: MemberKeys,
    me: str,
    message: WireMessage | Callable[[Member], WireMessage],
    path: str,
    members: Sequence[Member] | None = None,
    retired_keys: Sequence[MemberKeys] = (),
    ttl_s: int = 30,
    deadline: float | None = None,
) -> list[PartnerCall]:
    """Sign ``message`` (or ``message(member)``) for each member, to POST to ``path``.

    Members default to every organisation, self included. ``deadline`` (epoch
    seconds, signed into each request) is when the requester stops waiting: a
    partner still busy with the request after it releases nothing.
    """
    opener = ResponseOpener(registry=registry, keys=keys, me=me, retired_keys=tuple(retired_keys))
    calls = []
    for member in members if members is not None else registry.organisations():
        signed = message if isinstance(message, WireMessage) else message(member)
        request_id = new_request_id()
        token = sign_request(
            signed,
            keys=keys,
            issuer=me,
            audience=member.org_id,
            ttl_s=ttl_s,
            request_id=request_id,
            deadline=deadline,
        )
        calls.append(
            PartnerCall(
                org_id=member.org_id,
                org_name=member.name,
                org_kind=member.kind,
                url=member.base_url.rstrip("/") + path,
                request=token,
                request_id=request_id,
                # The answer must be about the subject asked about (``_open``).
                subject_id=str(signed.body().get("subject_id", "")),
                opener=opener,
            )
        )
    return calls


async def fan_out(
    *, client: httpx.AsyncClient, calls: Sequence[PartnerCall], deadline_s: float
) -> list[SourceResult]:
    """Send every call concurrently; one result per call, in the calls' order."""
    if deadline_s <= 0:
        raise ValueError("deadline_s must be positive")
    tasks = [asyncio.create_task(_call_one(client, call, deadline_s)) for call in calls]
    return list(await asyncio.gather(*tasks))


async def _call_one(
    client: httpx.AsyncClient, call: PartnerCall, deadline_s: float
) -> SourceResult:
    started = time.perf_counter()
    try:
        # httpx's timeout bounds each phase (connect, write, read); wait_for bounds
        # the whole exchange, so a partner trickling bytes cannot hold the view.
        response = await asyncio.wait_for(
            client.post(call.url, json={"request": call.request}, timeout=deadline_s),
            timeout=deadline_s,
        )
    except (TimeoutError, httpx.TimeoutException):
        return _result(call, started, "unavailable", "no answer within the deadline")
    except httpx.TransportError:
        return _result(call, started, "unavailable", "partner unreachable")
    except Exception as exc:  # one partner's failure must not fail the view
        log.warning("share call failed", extra={"org": call.org_id, "exc_type": type(exc).__name__})
        return _result(call, started, "error", "request failed")

    status = response.status_code
    if status != 200:
        return _refusal(call, started, response)
    try:
        body = _open(response, call)
    except Exception as exc:  # never trusted, never shown
        log.warning(
            "partner answer rejected", extra={"org": call.org_id, "exc_type": type(exc).__name__}
        )
        return _result(call, started, "error", INVALID_RESPONSE, http_status=status)
    decision = body["decision"]
    if decision.get("allow") is not True:
        reasons = decision.get("reasons")
        text = "; ".join(str(r) for r in reasons) if isinstance(reasons, list) else ""
        denial = _short(text or "policy denied")
        return _result(call, started, "denied", denial, http_status=status, body=body)
    unknown = "not known here" if body.get("known") is False else None
    return _result(call, started, "ok", unknown, http_status=status, body=body)


def _result(
    call: PartnerCall,
    started: float,
    status: SourceStatus,
    reason: str | None,
    *,
    http_status: int | None = None,
    body: dict[str, Any] | None = None,
) -> SourceResult:
    return SourceResult(
        org_id=call.org_id,
        org_name=call.org_name,
        org_kind=call.org_kind,
        status=status,
        latency_ms=round((time.perf_counter() - started) * 1000, 2),
        reason=reason,
        http_status=http_status,
        body=body,
    )


def _open(response: httpx.Response, call: PartnerCall) -> dict[str, Any]:
    """The verified, opened body; raises on anything that is not a well-formed answer."""
    envelope = response.json()
    token = envelope.get("response") if isinstance(envelope, dict) else None
    if not isinstance(token, str):
        raise JoinedUpError("no sealed response")
    body = call.opener.open(token, expected_issuer=call.org_id, request_id=call.request_id)
    # The signature proves who sealed it; these prove it answers *this* question.
    if body.get("org_id") != call.org_id or body.get("subject_id") != call.subject_id:
        raise JoinedUpError("answer names another organisation or subject")
    if not isinstance(body.get("decision"), dict):
        raise JoinedUpError("answer has no decision")
    return body


def _refusal(call: PartnerCall, started: float, response: httpx.Response) -> SourceResult:
    status = response.status_code
    detail = _problem_text(response)
    if status == 403:
        reason = detail or "refused by the partner"
        return _result(call, started, "denied", reason, http_status=status)
    if status in (502, 503, 504):
        reason = detail or f"partner unavailable ({status})"
        return _result(call, started, "unavailable", reason, http_status=status)
    prefix = f"partner answered {status}"
    reason = f"{prefix}: {detail}" if detail else prefix
    return _result(call, started, "error", reason, http_status=status)


def _problem_text(response: httpx.Response) -> str:
    try:
        problem = response.json()
    except ValueError:
        return ""
    if not isinstance(problem, dict):
        return ""
    parts = [str(problem[k]) for k in ("title", "detail") if isinstance(problem.get(k), str)]
    return _short(": ".join(dict.fromkeys(parts)))


def _short(text: str) -> str:
    return text if len(text) <= MAX_REASON_CHARS else text[: MAX_REASON_CHARS - 1] + "…"

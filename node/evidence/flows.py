"""Asking the federation an evidence question: policy, two rounds, retry, disclosure.

``answer_question`` (docs/evidence.md "The protocol"):

1. ``joinedup.aggregate`` decides for the asking staff member here first; the
   request is audited (``aggregate_requested``) whatever the decision.
2. Round 1: every other organisation gets a signed ``aggregate_join`` at once; those
   that join (their own policy allowed it) and this node are the participants. A
   member that refuses or does not answer is left out and named in the answer.
3. Round 2: each joined member gets a signed ``aggregate_contribute`` naming the
   participant set, while this node counts its own records in a worker thread;
   each answers with its masked vector, sealed to this node. If any participant
   fails to answer (or answers something that does not verify) the sum cannot be
   unmasked: the attempt fails cleanly and a new attempt (new query id, new masks)
   runs without it, up to ``MAX_ATTEMPTS``; the answer says so.
4. The unmasked totals go through disclosure control; only the protected table is
   returned, and its release is audited (``aggregate_answered``).

No database connection is held while a round is awaited: each database step is its
own short transaction in a worker thread (``run_in_session``).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

import anyio
import httpx
from sqlalchemy.engine import Engine
from sqlmodel import Session

from federation.envelope import new_request_id, open_response, sign_request
from federation.errors import FederationError, NotPermitted
from federation.evidence import CellLayout, EvidenceQuery, Question, cell_layout, load_catalogue
from federation.keys import MemberKeys
from federation.registry import Member, Registry
from federation.secure_sum import (
    MIN_PARTICIPANTS,
    SecureSumError,
    check_vector,
    masked_vector,
    unmask_sum,
)
from federation.wire.evidence import (
    MAX_ATTEMPTS,
    AggregateContribute,
    AggregateContribution,
    AggregateJoin,
    AggregateJoined,
)
from node.audit.service import record_audit
from node.db import run_in_session
from node.evidence.counting import count_cells
from node.evidence.exceptions import EvidenceUnavailable, UnknownQuestion
from node.evidence.service import aggregate_policy_input, describe
from node.policy import PolicyEngine

JOIN_PATH = "/federation/aggregate/join"
CONTRIBUTE_PATH = "/federation/aggregate/contribute"


@dataclass(frozen=True)
class Asking:
    """Who asks: this node and the staff member acting."""

    org_id: str
    org_kind: str
    keys: MemberKeys
    staff_pseudonym: str
    staff_role: str
    join_deadline_s: float
    contribute_deadline_s: float


@dataclass
class Totals:
    """What the rounds produced: the unmasked totals and how they were reached."""

    evidence_id: str
    question: Question
    query: EvidenceQuery
    layout: CellLayout
    totals: list[int]
    participants: list[str]
    left_out: dict[str, str] = field(default_factory=dict)
    attempts: int = 1


def authorise(*, policy: PolicyEngine, asking: Asking, query: EvidenceQuery) -> list[str]:
    """The policy's reasons; ``NotPermitted`` (after auditing) is raised by the caller."""
    decision = policy.decide(
        "aggregate",
        aggregate_policy_input(
            requester_org=asking.org_id,
            requester_kind=asking.org_kind,
            role=asking.staff_role,
            staff=asking.staff_pseudonym,
            holder_org=asking.org_id,
            holder_kind=asking.org_kind,
            query=query,
        ),
    )
    return [] if decision.allow else decision.reasons or ["refused by policy"]


async def _join(
    http: httpx.AsyncClient, member: Member, asking: Asking, message: AggregateJoin
) -> tuple[str, str | None]:
    """``(org_id, None)`` if it joined, else ``(org_id, why it is left out)``."""
    signed = sign_request(message, keys=asking.keys, issuer=asking.org_id, audience=member.org_id)
    try:
        with anyio.fail_after(asking.join_deadline_s):
            response = await http.post(
                f"{member.base_url}{JOIN_PATH}", json={"request": signed}, timeout=None
            )
    except (httpx.HTTPError, TimeoutError):
        return member.org_id, "did not answer in time"
    try:
        answer = AggregateJoined.model_validate(response.json())
    except ValueError:
        return member.org_id, f"could not take part (answered {response.status_code})"
    if response.status_code != 200 or answer.query_id != message.query_id:
        return member.org_id, f"could not take part (answered {response.status_code})"
    return member.org_id, None if answer.joined else "its policy did not allow this question"


async def _contribution(
    http: httpx.AsyncClient,
    registry: Registry,
    member: Member,
    asking: Asking,
    message: AggregateContribute,
    cells: int,
) -> list[int] | None:
    """The member's masked vector, or None if it did not give a valid one in time."""
    request_id = new_request_id()
    signed = sign_request(
        message,
        keys=asking.keys,
        issuer=asking.org_id,
        audience=member.org_id,
        request_id=request_id,
    )
    try:
        with anyio.fail_after(asking.contribute_deadline_s):
            response = await http.post(
                f"{member.base_url}{CONTRIBUTE_PATH}", json={"request": signed}, timeout=None
            )
        if response.status_code != 200:
            return None
        body = open_response(
            str(response.json()["response"]),
            registry=registry,
            keys=asking.keys,
            me=asking.org_id,
            expected_issuer=member.org_id,
            request_id=request_id,
        )
        contribution = AggregateContribution.model_validate(body)
        if contribution.query_id != message.query_id:
            return None
        return check_vector(contribution.masked, cells)
    except (httpx.HTTPError, TimeoutError, ValueError, KeyError, TypeError, FederationError):
        return None


async def _attempt(
    *,
    engine: Engine,
    http: httpx.AsyncClient,
    registry: Registry,
    asking: Asking,
    partners: list[Member],
    query: EvidenceQuery,
    layout: CellLayout,
    evidence_id: str,
    attempt: int,
    left_out: dict[str, str],
) -> tuple[list[int] | None, list[str], list[str]]:
    """One attempt: ``(totals or None, participants, those that dropped in round 2)``."""
    query_id = new_request_id()
    join = AggregateJoin(
        query_id=query_id,
        evidence_id=evidence_id,
        attempt=attempt,
        query=query,
        requester_role=asking.staff_role,
        requester_staff=asking.staff_pseudonym,
    )
    outcomes = await asyncio.gather(*[_join(http, m, asking, join) for m in partners])
    joined = [m for m, (_, why) in zip(partners, outcomes, strict=True) if why is None]
    left_out.update({org: why for org, why in outcomes if why is not None})
    participants = sorted([asking.org_id, *(m.org_id for m in joined)])
    if len(participants) < MIN_PARTICIPANTS:
        absent = "; ".join(f"{org} {why}" for org, why in sorted(left_out.items()))
        raise EvidenceUnavailable(
            f"too few organisations could take part ({len(participants)}; at least "
            f"{MIN_PARTICIPANTS} are needed so that no organisation's own numbers show): "
            f"{absent}"
        )
    contribute = AggregateContribute(query_id=query_id, query=query, participants=participants)
    keys = {org: registry.public_key(org) for org in participants}

    def own_vector(session: Session) -> list[int]:
        counts = count_cells(session=session, layout=layout)
        return masked_vector(
            counts,
            me=asking.org_id,
            my_key=asking.keys.encryption_key,
            participants=keys,
            query_id=query_id,
        )

    own, answers = await asyncio.gather(
        run_in_session(engine, own_vector),
        asyncio.gather(
            *[_contribution(http, registry, m, asking, contribute, layout.size) for m in joined]
        ),
    )
    vectors = [v for v in answers if v is not None]
    dropped = [m.org_id for m, v in zip(joined, answers, strict=True) if v is None]
    if dropped:
        return None, participants, dropped
    try:
        return unmask_sum([own, *vectors], layout.size), participants, []
    except SecureSumError:
        return None, participants, [m.org_id for m in joined]


def _audit(
    engine: Engine, asking: Asking, evidence_id: str, query: EvidenceQuery, **entry: Any
) -> Any:
    def write(session: Session) -> None:
        record_audit(
            session=session,
            request_id=evidence_id,
            actor_org=asking.org_id,
            actor_staff=asking.staff_pseudonym,
            actor_role=asking.staff_role,
            purpose=query.purpose,
            holder_org=asking.org_id,
            **entry,
        )

    return run_in_session(engine, write)


async def gather_totals(
    *,
    engine: Engine,
    http: httpx.AsyncClient,
    registry: Registry,
    policy: PolicyEngine,
    asking: Asking,
    query: EvidenceQuery,
) -> Totals:
    """Authorise, run the rounds (retrying without drop-outs) and return the totals."""
    question = load_catalogue().question(query.question)
    if question is None or not question.available:
        raise UnknownQuestion("there is no such question in the evidence catalogue")
    evidence_id = new_request_id()
    refused = authorise(policy=policy, asking=asking, query=query)
    await _audit(
        engine,
        asking,
        evidence_id,
        query,
        kind="aggregate_requested",
        action="evidence",
        decision="deny" if refused else "allow",
        reason=f"{describe(query)}: " + "; ".join(refused or ["allowed by policy"]),
    )
    if refused:
        raise NotPermitted("; ".join(refused))
    layout = cell_layout(query, question)
    try:
        return await _rounds(
            engine=engine,
            http=http,
            registry=registry,
            asking=asking,
            query=query,
            question=question,
            layout=layout,
            evidence_id=evidence_id,
        )
    except EvidenceUnavailable as exc:
        await _audit(
            engine,
            asking,
            evidence_id,
            query,
            kind="aggregate_answered",
            action="evidence",
            decision="error",
            reason=f"{describe(query)}: no answer: {exc.message}",
        )
        raise


async def _rounds(
    *,
    engine: Engine,
    http: httpx.AsyncClient,
    registry: Registry,
    asking: Asking,
    query: EvidenceQuery,
    question: Question,
    layout: CellLayout,
    evidence_id: str,
) -> Totals:
    """Attempts until one sums (each without the participants that dropped before)."""
    partners = [m for m in registry.organisations() if m.org_id != asking.org_id]
    left_out: dict[str, str] = {}
    for attempt in range(1, MAX_ATTEMPTS + 1):
        candidates = [m for m in partners if m.org_id not in left_out]
        totals, participants, dropped = await _attempt(
            engine=engine,
            http=http,
            registry=registry,
            asking=asking,
            partners=candidates,
            query=query,
            layout=layout,
            evidence_id=evidence_id,
            attempt=attempt,
            left_out=left_out,
        )
        if totals is not None:
            return Totals(
                evidence_id=evidence_id,
                question=question,
                query=query,
                layout=layout,
                totals=totals,
                participants=participants,
                left_out=left_out,
                attempts=attempt,
            )
        left_out.update(
            dict.fromkeys(dropped, "dropped out before sending its counts; asked again without it")
        )
    raise EvidenceUnavailable(
        f"organisations kept dropping out; no answer after {MAX_ATTEMPTS} attempts"
    )


def audit_answer(engine: Engine, asking: Asking, totals: Totals, suppressed: int) -> Any:
    """Audit the release of the protected table (an awaitable)."""
    return _audit(
        engine,
        asking,
        totals.evidence_id,
        totals.query,
        kind="aggregate_answered",
        action="evidence",
        decision="allow",
        reason=(
            f"{describe(totals.query)}: totals over {', '.join(totals.participants)} "
            f"after {totals.attempts} attempt(s); {suppressed} numbers suppressed"
        ),
    )

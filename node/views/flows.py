"""The joined-up view workflow (DESIGN "Federation protocol": fan-out and assembly).

1. check the requested categories against this node's vocabulary;
2. obtain a consent token from the consent service (bounded by half the deadline,
   so the whole view stays within ``share_deadline_s``), or reuse the one kept for
   the subject while no consent change has been pushed since (``token_cache``);
3. sign one ``share`` request per organisation in the registry — this node
   included, so its own records pass through its own share endpoint, policy and
   audit exactly like a partner's — all carrying the same ``view_id`` and the
   moment this view stops waiting (the signed ``deadline``: a partner that is
   still busy after it releases nothing);
4. fan out concurrently through the app's one ``httpx.AsyncClient``; whatever has
   not answered by the deadline is ``unavailable``;
5. assemble the view, record the ``view_requested`` audit entry (request id = view
   id) in a worker thread, and return the view; nothing is stored;
6. after an emergency view, the notice the customer is owed is queued in the
   outbox in the audit entry's transaction, and the outbox worker woken to send it
   to the consent service (``node.views.notices``).
"""

from __future__ import annotations

import secrets
import time
from functools import partial

import anyio

from federation.fanout import SHARE_PATH, build_calls, fan_out
from federation.share_schema import EmergencyBasis, ShareRequestBody
from federation.view import ConsentState, JoinedUpView, assemble_view, load_interactions
from node.auth.dependencies import StaffPrincipal
from node.views.dependencies import ViewContext
from node.views.exceptions import UnknownCategory
from node.views.notices import emergency_notice
from node.views.schemas import ViewRequest
from node.views.service import ConsentOutcome, obtain_consent_token, record_view_audit
from node.views.token_cache import current_consent_token

# The consent token is one quick call; never let it eat the partners' time.
CONSENT_SHARE_OF_DEADLINE = 0.5
MIN_FAN_OUT_S = 0.05


def new_view_id() -> str:
    return "view_" + secrets.token_urlsafe(16)


async def consent_for_view(
    context: ViewContext, request: ViewRequest, deadline_s: float
) -> ConsentOutcome:
    """The consent token for this view: the kept one if still current, else a fresh one."""
    return await current_consent_token(
        cache=context.consent_tokens,
        engine=context.engine,
        subject_id=request.subject_id,
        purpose=request.purpose,
        needed_s=deadline_s,
        fetch=partial(
            obtain_consent_token,
            client=context.client,
            registry=context.registry,
            keys=context.keys,
            me=context.settings.org_id,
            subject_id=request.subject_id,
            purpose=request.purpose,
            timeout_s=deadline_s * CONSENT_SHARE_OF_DEADLINE,
        ),
    )


async def request_joined_up_view(
    *,
    context: ViewContext,
    staff: StaffPrincipal,
    request: ViewRequest,
    timings: dict[str, float] | None = None,
) -> JoinedUpView:
    """Ask every organisation for its section, merge, audit and return the view.

    ``timings``, if given, receives the milliseconds spent per step (``consent``,
    ``fanout``, ``assemble``, ``audit``) for the ``Server-Timing`` header.
    """
    spent = timings if timings is not None else {}
    clock = time.perf_counter()

    def lap(step: str) -> None:
        nonlocal clock
        now = time.perf_counter()
        spent[step] = round((now - clock) * 1000, 2)
        clock = now

    unknown = sorted(set(request.categories) - set(context.vocabulary.categories))
    if unknown:
        raise UnknownCategory(f"unknown categories: {', '.join(unknown)}")
    settings = context.settings
    deadline_s = settings.share_deadline_s
    started = time.monotonic()
    view_id = new_view_id()

    consent = await consent_for_view(context, request, deadline_s)
    lap("consent")
    categories = sorted(set(request.categories))
    message = ShareRequestBody(
        subject_id=request.subject_id,
        purpose=request.purpose,
        categories=categories,
        staff_role=staff.role,
        staff_pseudonym=staff.pseudonym,
        consent_token=consent.token,
        emergency=(
            EmergencyBasis.model_validate(request.emergency.model_dump())
            if request.emergency
            else None
        ),
        view_id=view_id,
    )
    remaining = max(deadline_s - (time.monotonic() - started), MIN_FAN_OUT_S)
    calls = build_calls(
        registry=context.registry,
        keys=context.keys,
        me=settings.org_id,
        message=message,
        path=SHARE_PATH,
        retired_keys=context.retired_keys,
        # Partners refuse (and audit the refusal) once this view has given up on them.
        deadline=time.time() + remaining,
    )
    results = await fan_out(client=context.client, calls=calls, deadline_s=remaining)
    lap("fanout")

    view = assemble_view(
        subject_id=request.subject_id,
        purpose=request.purpose,
        view_id=view_id,
        results=results,
        interactions=load_interactions(),
        consent=ConsentState(status=consent.status, reason=consent.reason),
        emergency=request.emergency is not None,
    )
    lap("assemble")
    notice = emergency_notice(view, request.emergency.basis) if request.emergency else None
    await anyio.to_thread.run_sync(
        partial(
            record_view_audit,
            engine=context.engine,
            org_id=settings.org_id,
            staff=staff,
            view=view,
            requested_categories=categories,
            emergency=request.emergency,
            notice=notice,
        )
    )
    lap("audit")
    if notice is not None and context.outbox is not None:
        context.outbox.wake()
    return view

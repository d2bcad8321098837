"""Staff pages: sign-in and sign-out through the organisation's identity provider.

Only present in effect when ``oidc_issuer`` is configured (otherwise 404). The
protocol is in ``node.auth.oidc``; accounts and audit in ``node.auth.oidc_flows``.
The callback awaits the provider with no database session open, then does the
account work in a thread with a session of its own.

The flow cookie is ``SameSite=Lax`` (the provider's redirect back is a cross-site
navigation, which a ``Strict`` cookie would not survive) and scoped to the
callback's path. After a good sign-in the callback answers with a short page that
moves on by itself rather than a redirect: a browser does not send the
``SameSite=Strict`` session cookie on a redirect chain that began at another site,
so a redirect would land on the sign-in form again.
"""

from __future__ import annotations

from functools import partial
from typing import Annotated

import anyio
from fastapi import APIRouter, Query, Request
from fastapi.responses import RedirectResponse, Response
from sqlmodel import Session

from node.auth.dependencies import RequestId
from node.auth.exceptions import OidcSignInRefused
from node.auth.models import Staff
from node.auth.oidc import CALLBACK_PATH, FLOW_TTL_S, map_role, read_flow, start_flow
from node.auth.oidc_flows import record_oidc_refusal, sign_in_oidc_staff
from node.web.dependencies import OidcProviderDep, callback_url
from node.web.pages import UI_PREFIX, HtmlRoute, render
from node.web.router import home_for, safe_next, start_staff_session

router = APIRouter(prefix=UI_PREFIX, route_class=HtmlRoute, include_in_schema=False)
FLOW_COOKIE = "joinedup_oidc_flow"
REFUSED = (
    "Your organisation's sign-in did not let you in to this service. "
    "If you should have access, ask your administrator to check your groups."
)
UNREACHABLE = "Your organisation's sign-in could not be reached. Try again in a minute."


@router.get("/login/oidc")
async def start_provider_sign_in(
    request: Request,
    provider: OidcProviderDep,
    next_page: Annotated[str, Query(alias="next")] = "",
) -> Response:
    """Send the browser to the organisation's identity provider."""
    flow, cookie = start_flow(keys=request.app.state.keys, next_page=safe_next(next_page))
    try:
        url = await provider.authorization_url(
            request.app.state.http, flow=flow, redirect_uri=callback_url(request)
        )
    except OidcSignInRefused:
        return _login_page(request, UNREACHABLE, 503)
    response = RedirectResponse(url, status_code=303)
    response.set_cookie(
        FLOW_COOKIE,
        cookie,
        max_age=FLOW_TTL_S,
        httponly=True,
        samesite="lax",
        secure=request.url.scheme == "https",
        path=CALLBACK_PATH,
    )
    return response


@router.get("/login/oidc/callback")
async def finish_provider_sign_in(
    request: Request, provider: OidcProviderDep, request_id: RequestId
) -> Response:
    """Check the provider's answer (audited either way), then set the session cookie."""
    state, settings = request.app.state, request.app.state.settings
    params = request.query_params
    try:
        if params.get("error"):
            raise OidcSignInRefused("the provider refused or the person cancelled")
        flow = read_flow(
            request.cookies.get(FLOW_COOKIE), state=params.get("state"), keys=state.keys
        )
        code = params.get("code")
        if not code or len(code) > 2048:
            raise OidcSignInRefused("no authorization code")
        id_token = await provider.exchange_code(
            state.http, code=code, flow=flow, redirect_uri=callback_url(request)
        )
        claims = await provider.validate_id_token(state.http, id_token, nonce=flow.nonce)
        role = map_role(claims, groups_claim=settings.oidc_groups_claim, roles=settings.oidc_roles)
        staff = await anyio.to_thread.run_sync(
            partial(_sign_in, request=request, claims=claims, role=role, request_id=request_id)
        )
    except OidcSignInRefused as refused:
        if refused.cause not in _AUDITED_ALREADY:
            await anyio.to_thread.run_sync(
                partial(
                    record_oidc_refusal,
                    engine=state.engine,
                    org_id=settings.org_id,
                    request_id=request_id,
                    cause=refused.cause,
                )
            )
        return _login_page(request, REFUSED, 401)
    target = flow.next_page if flow.next_page != UI_PREFIX + "/" else home_for(staff.role)
    response = render(request, "signed_in.html", {"target": safe_next(target)})
    start_staff_session(request, response, staff)
    response.delete_cookie(FLOW_COOKIE, path=CALLBACK_PATH)
    return response


# Refusals that sign_in_oidc_staff has already audited in its own transaction.
_AUDITED_ALREADY = frozenset({"disabled account", "name clash with a local account"})


def _sign_in(*, request: Request, claims: dict[str, object], role: str, request_id: str) -> Staff:
    state = request.app.state
    with Session(state.engine) as session:
        staff = sign_in_oidc_staff(
            session=session,
            engine=state.engine,
            claims=dict(claims),
            role=role,
            issuer=state.oidc_provider.issuer,
            org_id=state.settings.org_id,
            keys=state.keys,
            request_id=request_id,
        )
        session.commit()
        session.refresh(staff)
        session.expunge(staff)
    return staff


def _login_page(request: Request, error: str, status_code: int) -> Response:
    context = {"next": UI_PREFIX + "/", "username": "", "error": error}
    response = render(request, "login.html", context, status_code=status_code)
    response.delete_cookie(FLOW_COOKIE, path=CALLBACK_PATH)
    return response

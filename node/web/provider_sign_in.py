"""Staff pages: sign-in and sign-out through the organisation's identity provider.

Only present in effect when ``oidc_issuer`` is configured (otherwise 404). The
protocol is in ``node.auth.oidc``; accounts and audit in ``node.auth.oidc_flows``.
The callback's work is ``node.auth.oidc_flows.complete_sign_in``: it awaits the
provider with no database session open, then does the account work in a thread
with a session of its own.

The flow cookie is ``SameSite=Lax`` (the provider's redirect back is a cross-site
navigation, which a ``Strict`` cookie would not survive) and scoped to the
callback's path. After a good sign-in the callback answers with a short page that
moves on by itself rather than a redirect: a browser does not send the
``SameSite=Strict`` session cookie on a redirect chain that began at another site,
so a redirect would land on the sign-in form again.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import RedirectResponse, Response

from node.auth.dependencies import RequestId
from node.auth.exceptions import OidcSignInRefused
from node.auth.oidc import CALLBACK_PATH, FLOW_TTL_S, start_flow
from node.auth.oidc_flows import complete_sign_in
from node.web.dependencies import OidcProviderDep, callback_url
from node.web.pages import UI_PREFIX, HtmlRoute, render, safe_next
from node.web.router import home_for, start_staff_session

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
    state = request.app.state
    try:
        staff, next_page = await complete_sign_in(
            provider=provider,
            http=state.http,
            engine=state.engine,
            settings=state.settings,
            keys=state.keys,
            query=request.query_params,
            flow_cookie=request.cookies.get(FLOW_COOKIE),
            redirect_uri=callback_url(request),
            request_id=request_id,
        )
    except OidcSignInRefused:
        return _login_page(request, REFUSED, 401)
    target = next_page if next_page != UI_PREFIX + "/" else home_for(staff.role)
    response = render(request, "signed_in.html", {"target": safe_next(target)})
    start_staff_session(request, response, staff)
    response.delete_cookie(FLOW_COOKIE, path=CALLBACK_PATH)
    return response


def _login_page(request: Request, error: str, status_code: int) -> Response:
    context = {"next": UI_PREFIX + "/", "username": "", "error": error}
    response = render(request, "login.html", context, status_code=status_code)
    response.delete_cookie(FLOW_COOKIE, path=CALLBACK_PATH)
    return response

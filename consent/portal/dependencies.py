"""Who is signed in to the portal, and which of their consents a page is about.

The customer's short-lived token (the same one ``POST /customer/login`` issues) is
kept in an ``HttpOnly``, ``SameSite=Strict`` cookie and checked exactly as the
bearer token is (``consent.customers.dependencies.current_customer``). A consent id
that is someone else's is a 404, like one that does not exist, so ids cannot be
probed. POST handlers take ``CsrfForm``: the parsed form, already CSRF-checked.
"""

from __future__ import annotations

import re
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials
from starlette.datastructures import FormData

from consent.consents.models import Consent
from consent.customers.dependencies import CustomerPrincipal, current_customer
from consent.db import SessionDep
from consent.portal.pages import KIT, SESSION_COOKIE
from federation.errors import NotFound

_CONSENT_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


def portal_customer(request: Request, session: SessionDep) -> CustomerPrincipal:
    """The customer named by the session cookie; a redirect to sign-in otherwise."""
    token = request.cookies.get(SESSION_COOKIE) or ""
    credentials = (
        HTTPAuthorizationCredentials(scheme="Bearer", credentials=token) if token else None
    )
    customer = current_customer(request, session, credentials)
    request.state.portal_customer = customer
    return customer


PortalCustomer = Annotated[CustomerPrincipal, Depends(portal_customer)]


def owned_consent(consent_id: str, session: SessionDep, customer: PortalCustomer) -> Consent:
    """The consent, if it is the signed-in customer's; a 404 page otherwise."""
    consent = session.get(Consent, consent_id) if _CONSENT_ID.match(consent_id) else None
    if consent is None or consent.subject_id != customer.subject_id:
        raise NotFound("We could not find that consent.")
    return consent


OwnedConsent = Annotated[Consent, Depends(owned_consent)]


CsrfForm = Annotated[FormData, Depends(KIT.csrf_form)]

"""Who is calling: ``CurrentCustomer``, and ``OwnedConsent`` for per-consent routes;
``CustomerThrottle`` and ``ClientAddress`` for the sign-in brake (``appkit.throttle``).

A customer is authenticated by a bearer token from ``POST /customer/login``
(``consent.customers.tokens``), and the account is re-read on every request. A
customer reaches only consents of their own subject: a consent id that exists but
belongs to someone else answers 404 exactly like one that does not exist, so ids
cannot be probed.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Path, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel

from appkit.throttle import SignInThrottle, client_address
from consent.consents.models import Consent
from consent.customers.models import CustomerSignInThrottle
from consent.customers.service import get_active_account
from consent.customers.tokens import verify_customer_token
from consent.db import SessionDep
from federation.errors import NotAuthenticated, NotFound

bearer_scheme = HTTPBearer(
    auto_error=False, description="Customer access token from POST /customer/login."
)


class CustomerPrincipal(BaseModel):
    account_id: int
    username: str
    subject_id: str


def current_customer(
    request: Request,
    session: SessionDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer_scheme)],
) -> CustomerPrincipal:
    """The customer the bearer token names; 401 if missing, bad or out of date."""
    if credentials is None or not credentials.credentials:
        raise NotAuthenticated("a bearer token is required (POST /customer/login)")
    claims = verify_customer_token(credentials.credentials, keys=request.app.state.keys)
    account = get_active_account(
        session=session, account_id=claims["uid"], subject_id=claims["sub"]
    )
    return CustomerPrincipal(
        account_id=claims["uid"], username=account.username, subject_id=account.subject_id
    )


CurrentCustomer = Annotated[CustomerPrincipal, Depends(current_customer)]
ConsentIdPath = Annotated[str, Path(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_-]+$")]


def owned_consent(
    consent_id: ConsentIdPath, session: SessionDep, customer: CurrentCustomer
) -> Consent:
    """The consent, if it belongs to the calling customer; 404 otherwise."""
    consent = session.get(Consent, consent_id)
    if consent is None or consent.subject_id != customer.subject_id:
        raise NotFound("unknown consent")
    return consent


OwnedConsent = Annotated[Consent, Depends(owned_consent)]


def customer_throttle(request: Request) -> SignInThrottle:
    """The failed-sign-in brake on the consent service's database."""
    return SignInThrottle(request.app.state.engine, CustomerSignInThrottle)


CustomerThrottle = Annotated[SignInThrottle, Depends(customer_throttle)]
ClientAddress = Annotated[str, Depends(client_address)]

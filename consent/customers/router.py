"""Customer accounts: activation, login, ``/me``; account and recovery-code requests
from member nodes."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request

from appkit.problems import PROBLEM_RESPONSES
from appkit.throttle import TOO_MANY_SIGN_INS
from consent.customers.dependencies import ClientAddress, CurrentCustomer, CustomerThrottle
from consent.customers.flows import reset_password, sign_in_customer
from consent.customers.schemas import (
    ActivationPublic,
    CustomerActivate,
    CustomerCreate,
    CustomerLogin,
    CustomerPublic,
    CustomerRecover,
    CustomerTokenPublic,
    RecoveryCodePublic,
)
from consent.customers.service import issue_recovery_code, request_customer_account
from consent.customers.tokens import issue_customer_token
from consent.db import SessionDep
from consent.members.dependencies import SignedBy, parse_body
from federation.envelope import VerifiedRequest

router = APIRouter(responses=PROBLEM_RESPONSES)


@router.post(
    "/federation/customers", response_model=ActivationPublic, status_code=201, tags=["federation"]
)
def create_customer(
    request: Request,
    session: SessionDep,
    verified: Annotated[VerifiedRequest, Depends(SignedBy("create_customer"))],
) -> ActivationPublic:
    """Open an account for an enrolled customer; returns a one-time activation code."""
    body = parse_body(verified, CustomerCreate)
    account, code, expires_at = request_customer_account(
        session=session,
        subject_id=body.subject_id,
        username=body.username,
        created_by=verified.issuer,
        code_ttl_s=request.app.state.settings.activation_code_ttl_s,
    )
    return ActivationPublic(
        username=account.username, activation_code=code, expires_at=int(expires_at.timestamp())
    )


@router.post(
    "/federation/customers/recovery",
    response_model=RecoveryCodePublic,
    status_code=201,
    tags=["federation"],
)
def create_recovery_code(
    request: Request,
    session: SessionDep,
    verified: Annotated[VerifiedRequest, Depends(SignedBy("recover_customer"))],
) -> RecoveryCodePublic:
    """Issue a one-time code to set a new password (enrolling organisations only)."""
    body = parse_body(verified, CustomerRecover)
    account, code, expires_at = issue_recovery_code(
        session=session,
        subject_id=body.subject_id,
        issued_by=verified.issuer,
        code_ttl_s=request.app.state.settings.recovery_code_ttl_s,
    )
    return RecoveryCodePublic(
        username=account.username, recovery_code=code, expires_at=int(expires_at.timestamp())
    )


@router.post("/customer/activate", response_model=CustomerPublic, tags=["customer"])
def activate_account(
    session: SessionDep, throttle: CustomerThrottle, body: CustomerActivate
) -> CustomerPublic:
    """Set a password with a one-time activation or recovery code."""
    account = reset_password(
        session=session,
        throttle=throttle,
        code=body.activation_code,
        password=body.password.get_secret_value(),
    )
    return CustomerPublic(username=account.username, subject_id=account.subject_id)


@router.post(
    "/customer/login",
    response_model=CustomerTokenPublic,
    tags=["customer"],
    responses=TOO_MANY_SIGN_INS,
)
def login_customer(
    request: Request,
    session: SessionDep,
    throttle: CustomerThrottle,
    client: ClientAddress,
    body: CustomerLogin,
) -> CustomerTokenPublic:
    """Exchange username and password for a short-lived bearer token (sign-ins are braked)."""
    account = sign_in_customer(
        session=session,
        throttle=throttle,
        username=body.username,
        password=body.password.get_secret_value(),
        client=client,
    )
    ttl = request.app.state.settings.customer_token_ttl_s
    token = issue_customer_token(
        keys=request.app.state.keys,
        account_id=account.id or 0,
        subject_id=account.subject_id,
        ttl_s=ttl,
    )
    return CustomerTokenPublic(access_token=token, expires_in=ttl)


@router.get("/me", response_model=CustomerPublic, tags=["customer"])
def read_me(customer: CurrentCustomer) -> CustomerPublic:
    """The signed-in customer's username and subject_id."""
    return CustomerPublic(username=customer.username, subject_id=customer.subject_id)

"""Sign-in (``POST /auth/token``), ``GET /auth/me`` and staff administration (admin only)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.security import OAuth2PasswordRequestForm

from appkit.problems import PROBLEM_RESPONSES
from appkit.throttle import TOO_MANY_SIGN_INS
from node.auth import flows, service
from node.auth.dependencies import (
    AdminStaff,
    ClientAddress,
    CurrentStaff,
    RequestId,
    SignInThrottleDep,
)
from node.auth.schemas import (
    StaffCreate,
    StaffPublic,
    StaffsPublic,
    StaffUpdate,
    TokenResponse,
    WhoAmI,
)
from node.auth.tokens import issue_staff_token
from node.db import RowId, SessionDep

router = APIRouter(tags=["auth"], responses=PROBLEM_RESPONSES)
MAX_PAGE = 100
SIGN_IN_EXAMPLE: dict[str, Any] = {
    "requestBody": {
        "content": {
            "application/x-www-form-urlencoded": {
                "example": {"username": "coordinator", "password": "correct horse battery"}
            }
        }
    }
}


@router.post(
    "/auth/token",
    response_model=TokenResponse,
    responses=TOO_MANY_SIGN_INS,
    openapi_extra=SIGN_IN_EXAMPLE,
)
def create_token(
    request: Request,
    session: SessionDep,
    throttle: SignInThrottleDep,
    client: ClientAddress,
    request_id: RequestId,
    form: Annotated[OAuth2PasswordRequestForm, Depends()],
) -> TokenResponse:
    """Exchange a staff username and password for a short-lived bearer token."""
    settings = request.app.state.settings
    staff = flows.sign_in_staff(
        session=session,
        engine=request.app.state.engine,
        throttle=throttle,
        username=form.username,
        password=form.password,
        client=client,
        channel="api",
        org_id=settings.org_id,
        keys=request.app.state.keys,
        request_id=request_id,
    )
    assert staff.id is not None
    token = issue_staff_token(
        staff_id=staff.id,
        role=staff.role,
        org_id=settings.org_id,
        keys=request.app.state.keys,
        ttl_s=settings.staff_token_ttl_s,
    )
    return TokenResponse(access_token=token, expires_in=settings.staff_token_ttl_s)


@router.get("/auth/me", response_model=WhoAmI)
def read_me(staff: CurrentStaff) -> WhoAmI:
    """The signed-in staff member: id, role and the pseudonym partners see."""
    return WhoAmI(**staff.model_dump())


@router.post("/staff", response_model=StaffPublic, status_code=201)
def create_staff(
    body: StaffCreate, session: SessionDep, admin: AdminStaff, request_id: RequestId
) -> StaffPublic:
    """Add a staff account (admins only); audited as an admin change."""
    staff = flows.add_staff(
        session=session,
        org_id=admin.org_id,
        actor_staff=admin.pseudonym,
        actor_role=admin.role,
        request_id=request_id,
        **body.model_dump(),
    )
    return StaffPublic.model_validate(staff)


@router.get("/staff", response_model=StaffsPublic)
def list_staff(
    session: SessionDep,
    _admin: AdminStaff,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 50,
) -> StaffsPublic:
    """List staff accounts (admins only)."""
    rows, count = service.list_staff(session=session, offset=offset, limit=limit)
    return StaffsPublic(data=[StaffPublic.model_validate(r) for r in rows], count=count)


@router.patch("/staff/{staff_id}", response_model=StaffPublic)
def update_staff(
    staff_id: RowId,
    body: StaffUpdate,
    session: SessionDep,
    admin: AdminStaff,
    request_id: RequestId,
) -> StaffPublic:
    """Change a staff account's role, status, name or password (admins only); audited."""
    staff = flows.change_staff(
        session=session,
        org_id=admin.org_id,
        actor_staff=admin.pseudonym,
        actor_role=admin.role,
        request_id=request_id,
        staff_id=staff_id,
        **body.model_dump(exclude_unset=True),
    )
    return StaffPublic.model_validate(staff)

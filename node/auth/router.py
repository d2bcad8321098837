"""Sign-in (``POST /auth/token``), ``GET /auth/me`` and staff administration (admin only)."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from fastapi.security import OAuth2PasswordRequestForm

from federation.problems import PROBLEM_RESPONSES
from node.audit.service import record_audit
from node.auth import service
from node.auth.dependencies import AdminStaff, CurrentStaff
from node.auth.schemas import (
    StaffCreate,
    StaffPublic,
    StaffsPublic,
    StaffUpdate,
    TokenResponse,
    WhoAmI,
)
from node.auth.tokens import issue_staff_token, staff_pseudonym
from node.db import RowId, SessionDep

router = APIRouter(tags=["auth"], responses=PROBLEM_RESPONSES)
MAX_PAGE = 100


@router.post("/auth/token", response_model=TokenResponse)
def create_token(
    request: Request, session: SessionDep, form: Annotated[OAuth2PasswordRequestForm, Depends()]
) -> TokenResponse:
    """Exchange a staff username and password for a short-lived bearer token."""
    staff = service.authenticate_staff(
        session=session, username=form.username, password=form.password
    )
    settings = request.app.state.settings
    assert staff.id is not None
    token = issue_staff_token(
        staff_id=staff.id,
        role=staff.role,
        org_id=settings.org_id,
        keys=request.app.state.keys,
        ttl_s=settings.staff_token_ttl_s,
    )
    # Sign-ins are audited in the same transaction that records last_login_at.
    record_audit(
        session=session,
        kind="login",
        request_id=getattr(request.state, "request_id", None) or uuid.uuid4().hex,
        actor_org=settings.org_id,
        actor_staff=staff_pseudonym(staff.id, request.app.state.keys),
        actor_role=staff.role,
        action="sign_in",
        decision="allow",
    )
    return TokenResponse(access_token=token, expires_in=settings.staff_token_ttl_s)


@router.get("/auth/me", response_model=WhoAmI)
def read_me(staff: CurrentStaff) -> WhoAmI:
    """The signed-in staff member: id, role and the pseudonym partners see."""
    return WhoAmI(**staff.model_dump())


@router.post("/staff", response_model=StaffPublic, status_code=201)
def create_staff(body: StaffCreate, session: SessionDep, _admin: AdminStaff) -> StaffPublic:
    """Add a staff account (admins only)."""
    staff = service.create_staff(session=session, **body.model_dump())
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
    staff_id: RowId, body: StaffUpdate, session: SessionDep, _admin: AdminStaff
) -> StaffPublic:
    """Change a staff account's role, status, name or password (admins only)."""
    staff = service.update_staff(
        session=session, staff_id=staff_id, **body.model_dump(exclude_unset=True)
    )
    return StaffPublic.model_validate(staff)

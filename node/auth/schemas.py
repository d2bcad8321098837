"""Request and response bodies for sign-in and staff administration."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from federation.vocabulary import RoleId

# A role of the taxonomy in force (policies/taxonomy/data.json), checked by a validator.
Role = RoleId


class TokenResponse(BaseModel):
    """An OAuth 2.0 bearer token response (RFC 6749 §5.1)."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {"access_token": "eyJhbGciOi...", "token_type": "bearer", "expires_in": 900}
            ]
        }
    )

    access_token: str
    token_type: Literal["bearer"] = "bearer"
    expires_in: int


class StaffCreate(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "username": "asha.patel",
                    "display_name": "Asha Patel",
                    "role": "frontline",
                    "password": "correct horse battery staple",
                }
            ]
        },
    )

    username: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9._@-]+$")
    display_name: str = Field(default="", max_length=200)
    role: Role
    password: str = Field(min_length=10, max_length=1024)


class StaffUpdate(BaseModel):
    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"role": "coordinator"}, {"active": False}]}
    )

    display_name: str | None = Field(default=None, max_length=200)
    role: Role | None = None
    active: bool | None = None
    password: str | None = Field(default=None, min_length=10, max_length=1024)


class StaffPublic(BaseModel):
    """A staff account as admins see it (never the password hash)."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    username: str
    display_name: str
    role: str
    active: bool
    created_at: datetime
    last_login_at: datetime | None


class StaffsPublic(BaseModel):
    data: list[StaffPublic]
    count: int


class WhoAmI(BaseModel):
    """The caller as the node knows them."""

    staff_id: int
    username: str
    role: str
    pseudonym: str
    org_id: str

"""Bodies of the customer account endpoints."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, Field, SecretStr, StringConstraints

from consent.subjects.schemas import SubjectId

Username = Annotated[
    str,
    StringConstraints(pattern=r"^[a-z0-9][a-z0-9._-]{2,63}$", to_lower=True, strip_whitespace=True),
]
# Long passphrases are welcome; the cap only bounds the hashing work per request.
Password = Annotated[SecretStr, Field(min_length=10, max_length=256)]


class CustomerCreate(BaseModel):
    """A member node asks for an account for an enrolled customer (action ``create_customer``)."""

    subject_id: SubjectId
    username: Username


class ActivationPublic(BaseModel):
    username: str
    activation_code: str
    expires_at: int


class CustomerActivate(BaseModel):
    activation_code: str = Field(min_length=8, max_length=128)
    password: Password


class CustomerLogin(BaseModel):
    username: Annotated[str, StringConstraints(min_length=1, max_length=64, to_lower=True)]
    password: Annotated[SecretStr, Field(min_length=1, max_length=256)]


class CustomerTokenPublic(BaseModel):
    access_token: str
    token_type: Literal["bearer"] = "bearer"
    expires_in: int


class CustomerPublic(BaseModel):
    username: str
    subject_id: str

"""Bodies of the customer account endpoints."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, StringConstraints

# The member requests are the wire messages their senders build (federation.wire.customer).
from federation.wire.customer import CustomerCreate, CustomerRecover
from federation.wire.fields import Username

__all__ = [
    "ActivationPublic",
    "CustomerActivate",
    "CustomerCreate",
    "CustomerLogin",
    "CustomerPublic",
    "CustomerRecover",
    "CustomerTokenPublic",
    "RecoveryCodePublic",
    "Username",
]

# Long passphrases are welcome; the cap only bounds the hashing work per request.
Password = Annotated[SecretStr, Field(min_length=10, max_length=256)]
# Examples use a synthetic subject id and username.
_SUBJECT = "sub_Q2xZ9kR4tV7mN1pA"


class ActivationPublic(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "username": "alex.example",
                    "activation_code": "q3Xb7Lm2Vd9Rt4Kw8Ns1Hy6Jc0Fp5Ge_",
                    "expires_at": 1726135200,
                }
            ]
        }
    )

    username: str
    activation_code: str
    expires_at: int


class RecoveryCodePublic(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "username": "alex.example",
                    "recovery_code": "q3Xb7Lm2Vd9Rt4Kw8Ns1Hy6Jc0Fp5Ge_",
                    "expires_at": 1726135200,
                }
            ]
        }
    )

    username: str
    recovery_code: str
    expires_at: int


class CustomerActivate(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "activation_code": "q3Xb7Lm2Vd9Rt4Kw8Ns1Hy6Jc0Fp5Ge_",
                    "password": "correct horse battery staple",
                }
            ]
        }
    )

    activation_code: str = Field(min_length=8, max_length=128)
    password: Password


class CustomerLogin(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"username": "alex.example", "password": "correct horse battery staple"}]
        }
    )

    username: Annotated[str, StringConstraints(min_length=1, max_length=64, to_lower=True)]
    password: Annotated[SecretStr, Field(min_length=1, max_length=256)]


class CustomerTokenPublic(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "access_token": "eyJhbGciOiJFZERTQSJ9.e30.c2ln",
                    "token_type": "bearer",
                    "expires_in": 900,
                }
            ]
        }
    )

    access_token: str
    token_type: Literal["bearer"] = "bearer"
    expires_in: int


class CustomerPublic(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={"examples": [{"username": "alex.example", "subject_id": _SUBJECT}]}
    )

    username: str
    subject_id: str

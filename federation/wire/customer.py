"""``create_customer`` and ``recover_customer``: a node opens or recovers a portal account.

``POST /federation/customers`` and ``/federation/customers/recovery``
(docs/protocol.md "Customer account", "Customer recovery").
"""

from __future__ import annotations

from typing import ClassVar

from pydantic import ConfigDict

from federation.wire import WireMessage
from federation.wire.fields import SubjectId, Username

# Examples use a synthetic subject id and username.
_SUBJECT = "sub_Q2xZ9kR4tV7mN1pA"


class CustomerCreate(WireMessage):
    """A member node asks for an account for an enrolled customer (action ``create_customer``)."""

    action: ClassVar[str] = "create_customer"
    model_config = ConfigDict(
        extra="ignore",
        json_schema_extra={"examples": [{"subject_id": _SUBJECT, "username": "alex.example"}]},
    )

    subject_id: SubjectId
    username: Username


class CustomerRecover(WireMessage):
    """A member node that enrolled the customer asks for a recovery code (``recover_customer``)."""

    action: ClassVar[str] = "recover_customer"
    model_config = ConfigDict(
        extra="ignore", json_schema_extra={"examples": [{"subject_id": _SUBJECT}]}
    )

    subject_id: SubjectId

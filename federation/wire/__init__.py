"""Typed bodies of the signed requests members send each other.

One pydantic model per signed action, used by sender and receiver alike: the
sender builds the model and signs it (``WireMessage.body()`` is what goes into the
request's ``body`` claim under ``act`` = ``Model.action``); the receiver parses the
verified body with ``Model.from_body`` and gets a 4xx-worthy
``MalformedMessage`` (a 422 ``ValidationFailed``) on anything else.
docs/protocol.md's examples are generated from these models, so a change to the
wire shows up there.

One module per action group: ``share`` (``share``, ``link``: the bodies of
``federation.share_schema``), ``token`` (``consent_token``), ``enrol``,
``customer`` (``create_customer``, ``recover_customer``), ``consent`` (``grant``,
``revoke_consent``), ``notice`` (``notify_customer``), ``revocation`` (``revoke``)
and ``audit`` (``audit_trace``, ``audit_subject_report``); ``fields`` holds the
identifier types they share. A receiver that checks vocabulary words (purposes,
categories) against its own lists extends the model and narrows those fields
(``consent.tokens.schemas.ConsentTokenRequest``); the action stays the model's.
"""

from __future__ import annotations

import importlib
import pkgutil
from typing import Any, ClassVar, TypeVar

from pydantic import BaseModel, ConfigDict, ValidationError

from federation.errors import ValidationFailed

M = TypeVar("M", bound="WireMessage")

_BY_ACTION: dict[str, type[WireMessage]] = {}


class MalformedMessage(ValidationFailed, ValueError):
    """A verified request whose body does not match its action's model (a 422 problem)."""


class WireMessage(BaseModel):
    """Base of every signed action's body; subclasses set ``action``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    action: ClassVar[str]

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        action = cls.__dict__.get("action")
        if isinstance(action, str):
            if action in _BY_ACTION and _BY_ACTION[action].__qualname__ != cls.__qualname__:
                raise TypeError(f"two wire messages claim the action {action!r}")
            _BY_ACTION[action] = cls

    def body(self) -> dict[str, Any]:
        """The JSON-ready ``body`` claim."""
        return self.model_dump(mode="json", exclude_none=True)

    @classmethod
    def from_body(cls: type[M], body: Any) -> M:
        try:
            return cls.model_validate(body)
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(p) for p in first.get("loc", ())) or "body"
            raise MalformedMessage(f"{cls.action}: {where}: {first.get('msg')}") from exc


def message_for(action: str) -> type[WireMessage]:
    """The model of a signed action (``KeyError`` for an unknown one)."""
    load_all()
    return _BY_ACTION[action]


def actions() -> dict[str, type[WireMessage]]:
    """Every signed action and its model (each module of this package loaded)."""
    load_all()
    return dict(_BY_ACTION)


def load_all() -> None:
    """Import every module of this package, so each model has registered its action."""
    for module in pkgutil.iter_modules(__path__):
        importlib.import_module(f"{__name__}.{module.name}")

"""The policy engine interface nodes call, the decision it returns, and the factory.

A node asks one question before it releases, acts or shows audit entries:
``engine.decide("share" | "act" | "audit", input)``. Two engines answer it from the
same Rego files under ``policies/``: ``EmbeddedRegoEngine`` (in-process, the
default; regorus or regopy underneath) and ``OpaServerEngine`` (an OPA sidecar
over its Data API). Both
fail closed: whatever goes wrong (engine error, timeout, undefined or malformed
result) becomes ``PolicyDecision(allow=False)`` with a reason, never an exception
and never an allow. ``settle_decision`` is the one place a raw Rego result turns
into a ``PolicyDecision``, so both engines give identical decisions.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from pydantic import BaseModel, Field, ValidationError

from federation.policy_bundle import policy_dir as packaged_policy_dir

PACKAGES: tuple[str, ...] = ("share", "act", "audit", "aggregate")

DEFAULT_POLICY_DIR = packaged_policy_dir()


class WithheldCategory(BaseModel):
    """A requested category that was not released, and why (never an existence-hidden one)."""

    category: str
    reason: str
    code: str = ""
    held: bool = Field(
        default=False,
        description="The holder holds records of this category (consent is what is missing); "
        "false means only that nothing covers the request.",
    )


class PolicyDecision(BaseModel):
    """What a Rego ``decision`` entry point answered, in the shape nodes consume."""

    allow: bool = False
    categories: list[str] = Field(default_factory=list)
    withheld: list[WithheldCategory] = Field(default_factory=list)
    withheld_fields: dict[str, list[str]] = Field(default_factory=dict)
    obligations: list[str] = Field(default_factory=list)
    reasons: list[str] = Field(default_factory=list)
    scope: dict[str, Any] = Field(default_factory=dict)

    @classmethod
    def deny(cls, reason: str) -> PolicyDecision:
        """A fail-closed denial carrying the reason."""
        return cls(allow=False, reasons=[reason])


class PolicyEngineError(Exception):
    """Raised inside an engine; ``decide`` turns it into a denial, callers never see it."""


@runtime_checkable
class PolicyEngine(Protocol):
    """What a node needs from a policy engine."""

    def decide(self, package: str, input: Mapping[str, Any]) -> PolicyDecision:
        """Evaluate ``joinedup.<package>.decision``; never raises, failures deny."""
        ...

    def reload(self) -> None:
        """Re-read policies and their data (the embedded engine also does this on change)."""
        ...


ENGINE_ERROR_PREFIX = "policy engine error: "


def engine_error(detail: str) -> PolicyDecision:
    """The denial every engine failure becomes."""
    return PolicyDecision.deny(ENGINE_ERROR_PREFIX + detail)


def is_engine_error(decision: PolicyDecision) -> bool:
    """Whether a denial came from an engine failure rather than from the policy."""
    return not decision.allow and any(r.startswith(ENGINE_ERROR_PREFIX) for r in decision.reasons)


def check_package(package: str) -> None:
    """Refuse anything but the decision packages (no arbitrary data paths)."""
    if package not in PACKAGES:
        raise PolicyEngineError(f"unknown policy package {package!r}")


def settle_decision(package: str, input: Mapping[str, Any], raw: Any) -> PolicyDecision:
    """Turn a raw Rego result into a ``PolicyDecision``, failing closed.

    Besides validating the shape, this is defence in depth for ``share``: a
    category the requester did not ask for is never released, whatever the
    policy said, and ``allow`` is false when no category is released.
    """
    if not isinstance(raw, dict):
        return engine_error(f"{package} decision is not an object")
    if not isinstance(raw.get("allow"), bool):
        return engine_error(f"{package} decision has no boolean allow")
    try:
        decision = PolicyDecision.model_validate(raw)
    except ValidationError as exc:
        return engine_error(f"{package} decision is malformed ({exc.error_count()} errors)")
    if package == "share" and decision.allow:
        requested = input.get("requested_categories")
        asked = set(requested) if isinstance(requested, list) else set()
        released = [c for c in decision.categories if c in asked]
        if not released:
            return engine_error("share decision allowed without releasing a requested category")
        if len(released) != len(decision.categories):
            return engine_error("share decision released a category that was not requested")
    if not decision.allow and decision.categories:
        decision = decision.model_copy(update={"categories": []})
    return decision


def build_policy_engine(
    *,
    engine: str = "embedded",
    rego: str | None = None,
    policy_dir: Path | None = None,
    opa_url: str | None = None,
    timeout_s: float = 1.0,
) -> PolicyEngine:
    """Build the engine the node's settings ask for.

    ``embedded`` compiles ``policy_dir`` (default: the packaged ``policies/``)
    with ``rego`` (``regorus``, the default, or ``regopy``); ``opa`` asks the OPA
    server at ``opa_url`` (e.g. ``http://127.0.0.1:8181``) and gives up after
    ``timeout_s``.
    """
    if engine == "embedded":
        from node.policy.embedded import EmbeddedRegoEngine

        return EmbeddedRegoEngine(policy_dir or DEFAULT_POLICY_DIR, rego=rego)
    if engine == "opa":
        if not opa_url:
            raise ValueError("the opa policy engine needs opa_url")
        from node.policy.opa import OpaServerEngine

        return OpaServerEngine(opa_url, timeout_s=timeout_s)
    raise ValueError(f"unknown policy engine {engine!r}: expected 'embedded' or 'opa'")

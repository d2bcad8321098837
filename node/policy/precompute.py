"""Rules worked out once per policy generation instead of on every decision.

Much of a share decision depends only on the policy data and on who asks for
what purpose (holder kind, requester kind, role, purpose), never on the person
or their consent: which categories the sharing agreements allow, and which
fields they remove. ``policies/share/share.rego`` states that as an ordinary
rule (``contexts``) over its data and reads it through
``data.precomputed.share.contexts`` when that exists, falling back to the rule
itself otherwise. An embedded engine evaluates each rule named in
``PRECOMPUTED`` once when it (re)loads the policies and compiles the result back
in as ``data.precomputed.<package>.<rule>``; every decision then only looks its
context up. An OPA server, which is given the policy directory as it is, takes
the fallback and reaches the same decisions more slowly. It stays Rego and
data-driven: changing an agreement in ``data.json`` starts a new generation,
which recomputes.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import Any

from node.policy.engine import PolicyEngineError
from node.policy.loader import PolicySource

PRECOMPUTED: dict[str, tuple[str, ...]] = {"share": ("contexts",)}
DATA_KEY = "precomputed"


def rule_path(package: str, rule: str) -> str:
    """The ``data.`` reference of a rule worked out once per generation."""
    return f"data.joinedup.{package}.{rule}"


def with_precomputed(source: PolicySource, evaluate: Callable[[str], Any | None]) -> PolicySource:
    """``source`` with each rule in ``PRECOMPUTED`` evaluated once and added to its data.

    ``evaluate(path)`` returns the rule's value, or None when the policies do not
    define it (a policy directory may leave it out; the policy then works it out
    per decision, if it needs it at all).
    """
    if DATA_KEY in source.data:
        raise PolicyEngineError(f"data key {DATA_KEY!r} is reserved for precomputed rules")
    values: dict[str, dict[str, Any]] = {}
    for package, rules in PRECOMPUTED.items():
        for rule in rules:
            value = evaluate(rule_path(package, rule))
            if value is not None:
                values.setdefault(package, {})[rule] = value
    if not values:
        return source
    return replace(source, data={**source.data, DATA_KEY: values})

"""Policy test cases kept as data beside each policy (``policies/<package>/cases.yaml``).

A case is a name, an input and the decision expected, written so a
data-protection officer can read and add to them. Each file has a ``base_input``;
a case lists only what differs from it (objects merge key by key, anything else
replaces). The expectation names only what matters to the case: ``allow`` always,
and optionally ``categories``, ``withheld`` (category -> code), ``withheld_fields``,
``obligations``, ``scope``, ``reasons_include`` (phrases that must appear) and
``never_mentions`` (words that must not appear anywhere in the decision, e.g. an
existence-hidden category).

pytest runs every case through both engines; ``python -m node.policy.cases`` runs
them through the embedded engine and prints any mismatch, for use outside pytest.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, Field

from node.policy.engine import DEFAULT_POLICY_DIR, PACKAGES, PolicyDecision, PolicyEngine


class PolicyExpectation(BaseModel):
    """The parts of a decision a case asserts; unset parts are not checked."""

    allow: bool
    categories: list[str] | None = None
    withheld: dict[str, str] | None = None
    withheld_fields: dict[str, list[str]] | None = None
    obligations: list[str] | None = None
    scope: dict[str, Any] | None = None
    reasons_include: list[str] = Field(default_factory=list)
    never_mentions: list[str] = Field(default_factory=list)


class PolicyCase(BaseModel):
    """One named input and what the policy must decide for it."""

    package: str
    name: str
    description: str = ""
    input: dict[str, Any]
    expect: PolicyExpectation

    def mismatches(self, decision: PolicyDecision) -> list[str]:
        """Every way ``decision`` differs from the expectation (empty when it matches)."""
        found: list[str] = []
        want = self.expect

        def differ(label: str, expected: Any, actual: Any) -> None:
            if expected != actual:
                found.append(f"{label}: expected {expected!r}, got {actual!r}")

        differ("allow", want.allow, decision.allow)
        if want.categories is not None:
            differ("categories", sorted(want.categories), sorted(decision.categories))
        if want.withheld is not None:
            differ("withheld", want.withheld, {w.category: w.code for w in decision.withheld})
        if want.withheld_fields is not None:
            actual_fields = {k: sorted(v) for k, v in decision.withheld_fields.items()}
            expected_fields = {k: sorted(v) for k, v in want.withheld_fields.items()}
            differ("withheld_fields", expected_fields, actual_fields)
        if want.obligations is not None:
            differ("obligations", sorted(want.obligations), sorted(decision.obligations))
        if want.scope is not None:
            differ("scope", want.scope, decision.scope)
        reasons = " | ".join(decision.reasons)
        for phrase in want.reasons_include:
            if phrase not in reasons:
                found.append(f"reasons: expected a reason containing {phrase!r}, got {reasons!r}")
        text = decision.model_dump_json()
        for word in want.never_mentions:
            if word in text:
                found.append(f"decision mentions {word!r}, which it must never reveal")
        return found


def merge(base: Mapping[str, Any], patch: Mapping[str, Any]) -> dict[str, Any]:
    """``base`` with ``patch`` applied: objects merge key by key, other values replace."""
    merged = dict(base)
    for key, value in patch.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), Mapping):
            merged[key] = merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def load_cases(package: str, policy_dir: Path | None = None) -> list[PolicyCase]:
    """The cases in ``policies/<package>/cases.yaml``, each with its full input."""
    if package not in PACKAGES:
        raise ValueError(f"unknown policy package {package!r}")
    path = (policy_dir or DEFAULT_POLICY_DIR) / package / "cases.yaml"
    document = yaml.safe_load(path.read_text(encoding="utf-8"))
    base = document.get("base_input") or {}
    cases = []
    for raw in document["cases"]:
        cases.append(
            PolicyCase(
                package=package,
                name=raw["name"],
                description=raw.get("description", ""),
                input=merge(base, raw.get("input") or {}),
                expect=PolicyExpectation.model_validate(raw["expect"]),
            )
        )
    names = [c.name for c in cases]
    duplicates = {n for n in names if names.count(n) > 1}
    if duplicates:
        raise ValueError(f"{path}: duplicate case names {sorted(duplicates)}")
    return cases


def run_cases(engine: PolicyEngine, cases: list[PolicyCase]) -> dict[str, list[str]]:
    """Case name -> mismatches, for every case that fails."""
    failures: dict[str, list[str]] = {}
    for case in cases:
        problems = case.mismatches(engine.decide(case.package, case.input))
        if problems:
            failures[f"{case.package}: {case.name}"] = problems
    return failures


def main() -> int:
    """Run every policy case through the embedded engine; print mismatches; 0 if none."""
    from node.policy.engine import build_policy_engine

    engine = build_policy_engine(engine="embedded")
    total = 0
    failures: dict[str, list[str]] = {}
    for package in PACKAGES:
        cases = load_cases(package)
        total += len(cases)
        failures.update(run_cases(engine, cases))
    for name, problems in failures.items():
        sys.stdout.write(f"FAIL {name}\n" + "".join(f"    {p}\n" for p in problems))
    sys.stdout.write(f"{total - len(failures)}/{total} policy cases pass\n")
    return 1 if failures else 0


if __name__ == "__main__":
    raise SystemExit(main())

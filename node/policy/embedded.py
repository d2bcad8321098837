"""The embedded policy engine: Rego evaluated in-process, by regorus or regopy.

Two Rego implementations can run the policies (setting ``policy_rego``):
``regorus`` (Microsoft's Rust interpreter, compiled for its VM; the default, see
node/policy/regorus_engine.py) and ``regopy`` (rego-cpp), kept selectable and
held to identical decisions by tests over every policy case and a generated
corpus. For regopy, policies and data are compiled once into a ``Bundle`` with
the three ``joinedup/<package>/decision`` entry points; each decision then runs
the compiled plan (a plain ``query`` would recompile every time, ~10x slower).
Either way, rules that depend only on policy data are worked out once per
generation (node/policy/precompute.py), and neither implementation's evaluator
is thread-safe, so every thread gets its own, all sharing the one compiled
generation. The engine re-reads ``policies/`` when a file
changes (checked at most once a second) or on ``reload()``. If policies fail to
load, every decision is a denial naming the load error until they are fixed:
serving an older policy the administrator has replaced is not failing closed.

A decision is a pure function of the input and the loaded policy (the policies
use no clock or randomness), so the engine keeps a small LRU of recent decisions
keyed by (policy generation, package, canonical input JSON). A repeated request,
such as a view refreshed while its consent token is still fresh, skips rego-cpp;
any reload starts a new generation, so a cached decision never outlives its policy.
"""

from __future__ import annotations

import json
import threading
import time
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, Protocol

from regopy import Bundle, Interpreter, LogLevel, RegoError

from node.policy.engine import (
    PACKAGES,
    PolicyDecision,
    PolicyEngineError,
    check_package,
    engine_error,
    settle_decision,
)
from node.policy.loader import PolicySource, load_policy_source, policy_stamp
from node.policy.precompute import with_precomputed
from node.policy.rego_input import NotDirectlyConvertible, rego_safe_json, to_rego_input

ENTRYPOINTS: dict[str, str] = {p: f"joinedup/{p}/decision" for p in PACKAGES}
CHANGE_CHECK_INTERVAL_S = 1.0
DECISION_CACHE_SIZE = 1024
RegoName = Literal["regorus", "regopy"]
REGO_NAMES: tuple[str, ...] = ("regorus", "regopy")
DEFAULT_REGO: RegoName = "regorus"


def _interpreter() -> Interpreter:
    interpreter = Interpreter()
    # rego-cpp otherwise prints compile errors to stdout; they reach us as RegoError.
    interpreter.log_level = LogLevel.NONE
    return interpreter


def compile_bundle(source: PolicySource) -> Bundle:
    """Compile modules and data into one bundle with every decision entry point."""
    builder = _interpreter()
    try:
        builder.add_data_json(json.dumps(source.data))
        for name, text in source.modules.items():
            builder.add_module(name, text)
        return builder.build(None, list(ENTRYPOINTS.values()))
    except RegoError as exc:
        raise PolicyEngineError(f"policies do not compile: {exc}") from exc


def _set_input(interpreter: Interpreter, value: Any) -> None:
    # The direct C conversion is the fast path; what it cannot carry exactly
    # (integers beyond int64, non-string keys) goes as JSON text instead. Both
    # paths make strings safe for rego-cpp to echo (node.policy.rego_input).
    try:
        interpreter.set_input(to_rego_input(value))
    except NotDirectlyConvertible:
        interpreter.set_input_term(rego_safe_json(value))


class _DuplicateKey(ValueError):
    pass


def _refuse_duplicate_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    # rego-cpp 1.5.2 writes strings into its JSON result unescaped. Input strings
    # are made safe before they reach it (node.policy.rego_input), but a quote in
    # policy data could still let an echoed string emit '","allow":true,...', and
    # a JSON reader keeps the *last* of duplicate keys: a denial would become a
    # release. A real decision never repeats a key, so one that does is refused.
    document = dict(pairs)
    if len(document) != len(pairs):
        raise _DuplicateKey("a key appears twice in the policy result")
    return document


def run_entrypoint(interpreter: Interpreter, bundle: Bundle, package: str, input: Any) -> Any:
    """Evaluate one compiled entry point and return its JSON value (raises on failure)."""
    try:
        _set_input(interpreter, input)
        output = interpreter.query_bundle_entrypoint(bundle, ENTRYPOINTS[package])
    except RegoError as exc:
        raise PolicyEngineError(f"evaluation failed: {exc}") from exc
    # A failed output is an error sequence; do not stringify it beyond ok().
    if not output.ok():
        raise PolicyEngineError("evaluation failed")
    text = str(output)
    if text == "undefined":
        raise PolicyEngineError("decision is undefined")
    try:
        expressions = json.loads(text, object_pairs_hook=_refuse_duplicate_keys)["expressions"]
    except (ValueError, KeyError, TypeError) as exc:
        raise PolicyEngineError("evaluation returned an unreadable result") from exc
    if not isinstance(expressions, list) or len(expressions) != 1:
        raise PolicyEngineError("decision is undefined")
    return expressions[0]


def _evaluate_once(builder: Interpreter, path: str) -> Any | None:
    # A plain query recompiles, which is fine once per generation. regopy answers
    # an undefined rule with "undefined" (or a failed output): not precomputed.
    try:
        output = builder.query(path)
    except RegoError:
        return None
    if not output.ok() or str(output) == "undefined":
        return None
    return json.loads(str(output))["expressions"][0]


class _Evaluator(Protocol):
    def evaluate(self, package: str, input: Any, input_json: str) -> Any: ...


class _Compiled(Protocol):
    def evaluator(self) -> _Evaluator:
        """The calling thread's evaluator for this generation (made on first use)."""
        ...


class RegopyCompiled:
    """One generation of policy compiled for regopy, with its rules worked out once."""

    def __init__(self, source: PolicySource) -> None:
        builder = _interpreter()
        try:
            builder.add_data_json(json.dumps(source.data))
            for name, text in source.modules.items():
                builder.add_module(name, text)
        except RegoError as exc:
            raise PolicyEngineError(f"policies do not compile: {exc}") from exc
        self.bundle = compile_bundle(
            with_precomputed(source, lambda path: _evaluate_once(builder, path))
        )
        self._local = threading.local()

    def evaluator(self) -> RegopyEvaluator:
        """The calling thread's interpreter for this bundle."""
        evaluator: RegopyEvaluator | None = getattr(self._local, "evaluator", None)
        if evaluator is None:
            evaluator = self._local.evaluator = RegopyEvaluator(self.bundle)
        return evaluator


class RegopyEvaluator:
    """Evaluates decision entry points on one thread's regopy interpreter."""

    def __init__(self, bundle: Bundle) -> None:
        self.bundle = bundle
        self.interpreter = _interpreter()

    def evaluate(self, package: str, input: Any, input_json: str) -> Any:
        """The JSON value of ``joinedup.<package>.decision`` (raises on failure)."""
        return run_entrypoint(self.interpreter, self.bundle, package, input)


def _compile(rego: str, source: PolicySource) -> _Compiled:
    if rego == "regopy":
        return RegopyCompiled(source)
    from node.policy.regorus_engine import RegorusProgram

    return RegorusProgram(source)


@dataclass(frozen=True)
class _Loaded:
    """One generation of compiled policy, or the reason there is none."""

    generation: int
    compiled: _Compiled | None
    error: str | None
    stamp: tuple[tuple[str, int, int], ...]


class EmbeddedRegoEngine:
    """``PolicyEngine`` evaluating Rego in-process; the default for a node."""

    def __init__(
        self,
        policy_dir: Path,
        *,
        rego: str | None = None,
        watch: bool = True,
        check_interval_s: float = CHANGE_CHECK_INTERVAL_S,
        cache_size: int = DECISION_CACHE_SIZE,
    ) -> None:
        rego = rego or DEFAULT_REGO
        if rego not in REGO_NAMES:
            raise ValueError(f"unknown Rego implementation {rego!r}: expected one of {REGO_NAMES}")
        self.rego = rego
        self.policy_dir = Path(policy_dir)
        self.watch = watch
        self.check_interval_s = check_interval_s
        self.cache_size = cache_size
        self._cache: OrderedDict[tuple[int, str, str], str] = OrderedDict()
        self._cache_lock = threading.Lock()
        self._reload_lock = threading.Lock()
        self._next_check = 0.0
        self._loaded = _Loaded(0, None, "policies not loaded yet", ())
        self.reload()

    @property
    def load_error(self) -> str | None:
        """Why policies are not loaded (every decision denies), or None when healthy."""
        return self._loaded.error

    @property
    def generation(self) -> int:
        """Incremented on every (re)load attempt; lets tests see a reload happened."""
        return self._loaded.generation

    def reload(self) -> None:
        """Re-read and recompile the policy directory; never raises."""
        with self._reload_lock:
            generation = self._loaded.generation + 1
            stamp: tuple[tuple[str, int, int], ...] = ()
            try:
                stamp = policy_stamp(self.policy_dir)
                source = load_policy_source(self.policy_dir)
                stamp = source.stamp
                compiled = _compile(self.rego, source)
            except (PolicyEngineError, OSError, UnicodeDecodeError) as exc:
                self._loaded = _Loaded(generation, None, str(exc), stamp)
            else:
                self._loaded = _Loaded(generation, compiled, None, stamp)
            self._next_check = time.monotonic() + self.check_interval_s

    def _reload_if_changed(self) -> None:
        now = time.monotonic()
        if now < self._next_check:
            return
        self._next_check = now + self.check_interval_s
        try:
            changed = policy_stamp(self.policy_dir) != self._loaded.stamp
        except OSError:
            changed = True
        if changed:
            self.reload()

    def _cached(self, key: tuple[int, str, str]) -> PolicyDecision | None:
        if self.cache_size <= 0:
            return None
        with self._cache_lock:
            decision_json = self._cache.get(key)
            if decision_json is None:
                return None
            self._cache.move_to_end(key)
        # Kept as JSON: callers may mutate what they get, and a fresh model from JSON
        # costs a fifth of a deep copy.
        return PolicyDecision.model_validate_json(decision_json)

    def _remember(self, key: tuple[int, str, str], decision: PolicyDecision) -> None:
        if self.cache_size <= 0:
            return
        with self._cache_lock:
            self._cache[key] = decision.model_dump_json()
            while len(self._cache) > self.cache_size:
                self._cache.popitem(last=False)

    def decide(self, package: str, input: Mapping[str, Any]) -> PolicyDecision:
        """Evaluate ``joinedup.<package>.decision`` for ``input``; failures deny."""
        if self.watch:
            self._reload_if_changed()
        loaded = self._loaded
        try:
            check_package(package)
            if loaded.compiled is None:
                raise PolicyEngineError(f"policies unavailable: {loaded.error}")
            try:
                input_json = json.dumps(input, allow_nan=False, sort_keys=True)
            except (TypeError, ValueError) as exc:
                raise PolicyEngineError(f"input is not JSON: {exc}") from exc
            key = (loaded.generation, package, input_json)
            cached = self._cached(key)
            if cached is not None:
                return cached
            raw = loaded.compiled.evaluator().evaluate(package, input, input_json)
        except PolicyEngineError as exc:
            return engine_error(str(exc))
        except Exception as exc:  # noqa: BLE001 - fail closed on anything unexpected
            return engine_error(f"unexpected {type(exc).__name__}")
        decision = settle_decision(package, input, raw)
        self._remember(key, decision)
        return decision

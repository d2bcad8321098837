"""The regorus backend of the embedded engine: Rego compiled for regorus's VM.

regorus is Microsoft's Rego interpreter in Rust; the wheel used here is the
``gordon-to-regorus`` build (PyPI; pinned by hash in requirements.lock; see
docs/policies.md for why this build and what was measured). Policies and data
are compiled once per policy generation into a ``Program`` for regorus's
register VM (``Rvm``), which runs a share decision several times faster than
regorus's tree-walking interpreter and than regopy. The interpreter still does
the one-off work: it evaluates the rules worked out once per generation
(node/policy/precompute.py). regorus's ``Engine``, ``Program`` and ``Rvm`` may
only be used, and dropped, on the thread that made them (pyo3 "unsendable":
used elsewhere they panic, dropped elsewhere they leak with an error). So a
generation is shared between threads as the program's serialized bytes; each
thread deserializes them (~0.2 ms) into its own program and VM, kept in a
module-level thread-local that only that thread, or its end, ever releases. A
VM for a generation no longer in use is released by its thread the next time
it needs a new one.

What this backend guards against, each found by test here:

- The VM reports an undefined result, and a failed one (e.g. two complete
  definitions disagreeing), as the JSON string ``"<undefined>"``, and version
  0.13.0 wrote that marker into an array built by a comprehension whose body
  was undefined for some element. Any result that holds the marker anywhere is
  refused (a denial), never read as a decision.
- Integers beyond 64 bits become floats inside regorus, so a comparison could
  silently go the other way; an input holding one is refused.
- Input strings are made safe exactly as for regopy (node.policy.rego_input)
  although regorus itself escapes its output correctly: both engines must see
  the same strings to reach the same decisions.
"""

from __future__ import annotations

import json
import threading
import weakref
from typing import Any

import regorus

from node.policy.engine import PACKAGES, PolicyEngineError
from node.policy.loader import PolicySource
from node.policy.precompute import with_precomputed
from node.policy.rego_input import rego_safe_json_text

ENTRYPOINTS: dict[str, str] = {p: f"data.joinedup.{p}.decision" for p in PACKAGES}
UNDEFINED = '"<undefined>"'
_INT64_MIN, _INT64_MAX = -(2**63), 2**63 - 1
_THREAD = threading.local()
# 19 digits in a row is the first length that can exceed int64; an input without
# such a run (in numbers or strings) is surely in range and skips the walk below.
# Found by mapping every digit to "0" and searching (a tenth of a regex's cost).
_DIGITS_TO_ZERO = bytes.maketrans(b"123456789", b"000000000")
_NINETEEN_DIGITS = b"0" * 19


def _interpreter(source: PolicySource) -> Any:
    engine = regorus.Engine()
    engine.add_data_json(json.dumps(source.data))
    for name, text in source.modules.items():
        engine.add_policy(name, text)
    return engine


def _evaluate_once(engine: Any, path: str) -> Any | None:
    try:
        return engine.eval_rule(path)
    except RuntimeError:
        return None  # not defined by these policies


class RegorusProgram:
    """One generation of policy compiled for regorus's VM."""

    def __init__(self, source: PolicySource) -> None:
        try:
            interpreter = _interpreter(source)
            source = with_precomputed(source, lambda path: _evaluate_once(interpreter, path))
            self._data_json = json.dumps(source.data)
            self._program = regorus.Program.compile_from_modules(
                self._data_json, list(source.modules.items()), list(ENTRYPOINTS.values())
            ).serialize_binary()
        except RuntimeError as exc:
            raise PolicyEngineError(f"policies do not compile: {_first_line(exc)}") from exc

    def evaluator(self) -> RegorusEvaluator:
        """The calling thread's VM for this program."""
        vms: dict[int, tuple[weakref.ref[RegorusProgram], RegorusEvaluator]]
        vms = _THREAD.__dict__.setdefault("vms", {})
        entry = vms.get(id(self))
        if entry is not None and entry[0]() is self:
            return entry[1]
        for key in [key for key, (program, _) in vms.items() if program() is None]:
            del vms[key]
        evaluator = RegorusEvaluator(self._program, self._data_json)
        vms[id(self)] = (weakref.ref(self), evaluator)
        return evaluator


def _first_line(exc: Exception) -> str:
    # regorus appends a Rust stack backtrace to its messages.
    return str(exc).split("Stack backtrace:")[0].strip()


def _int64_only(value: Any) -> None:
    if type(value) is int and not _INT64_MIN <= value <= _INT64_MAX:
        raise PolicyEngineError("input holds an integer beyond int64")
    if isinstance(value, dict):
        for item in value.values():
            _int64_only(item)
    elif isinstance(value, list | tuple):
        for item in value:
            _int64_only(item)


class RegorusEvaluator:
    """Evaluates decision entry points on one thread's VM."""

    def __init__(self, program: bytes, data_json: str) -> None:
        self._vm = regorus.Rvm()
        self._vm.load_program(regorus.Program.deserialize_binary(program)[0])
        self._vm.set_data_json(data_json)

    def evaluate(self, package: str, input: Any, input_json: str) -> Any:
        """The JSON value of ``joinedup.<package>.decision`` (raises on failure)."""
        if _NINETEEN_DIGITS in input_json.encode().translate(_DIGITS_TO_ZERO):
            _int64_only(input)
        try:
            self._vm.set_input_json(rego_safe_json_text(input_json))
            text = self._vm.execute_entry_point(ENTRYPOINTS[package])
        except RuntimeError as exc:
            raise PolicyEngineError(f"evaluation failed: {_first_line(exc)}") from exc
        if text.strip() == UNDEFINED:
            raise PolicyEngineError("decision is undefined")
        if UNDEFINED in text:
            raise PolicyEngineError("evaluation returned an undefined value inside the decision")
        try:
            return json.loads(text)
        except ValueError as exc:
            raise PolicyEngineError("evaluation returned an unreadable result") from exc

"""Reading the ``policies/`` directory: Rego modules, their data, and a change stamp.

The layout follows OPA's loader so the embedded engine and an OPA server started
with ``opa run --server --watch policies/`` see the same documents: every
``*.rego`` file is a module, and every ``data.json`` is placed at the ``data.``
path spelled by its directory (``policies/share/data.json`` becomes
``data.share``). ``cases.yaml`` files are test cases, not policy, and are ignored.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from node.policy.engine import PolicyEngineError


@dataclass(frozen=True)
class PolicySource:
    """Everything the engine compiles: module name -> Rego text, and one data document."""

    modules: dict[str, str]
    data: dict[str, Any]
    stamp: tuple[tuple[str, int, int], ...]


def policy_files(policy_dir: Path) -> list[Path]:
    """The policy and data files under ``policy_dir``, in a stable order."""
    found: list[Path] = []
    for root, dirs, files in os.walk(policy_dir):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        for name in sorted(files):
            if name.endswith(".rego") or name == "data.json":
                found.append(Path(root) / name)
    return found


def policy_stamp(policy_dir: Path) -> tuple[tuple[str, int, int], ...]:
    """Cheap change detector: (path, mtime_ns, size) of every policy and data file."""
    stamp: list[tuple[str, int, int]] = []
    for path in policy_files(policy_dir):
        try:
            info = path.stat()
        except FileNotFoundError:
            continue
        stamp.append((str(path), info.st_mtime_ns, info.st_size))
    return tuple(stamp)


def _place(data: dict[str, Any], keys: tuple[str, ...], document: Any, origin: Path) -> None:
    node = data
    for key in keys:
        child = node.setdefault(key, {})
        if not isinstance(child, dict):
            raise PolicyEngineError(f"{origin}: data path clashes at {key!r}")
        node = child
    if not isinstance(document, dict):
        raise PolicyEngineError(f"{origin}: a data.json must hold an object")
    for key, value in document.items():
        if key in node:
            raise PolicyEngineError(f"{origin}: data key {key!r} is defined twice")
        node[key] = value


def load_policy_source(policy_dir: Path) -> PolicySource:
    """Read every module and data document; raise ``PolicyEngineError`` on a bad file."""
    if not policy_dir.is_dir():
        raise PolicyEngineError(f"policy directory {policy_dir} does not exist")
    stamp = policy_stamp(policy_dir)
    modules: dict[str, str] = {}
    data: dict[str, Any] = {}
    for path in policy_files(policy_dir):
        relative = path.relative_to(policy_dir)
        if path.suffix == ".rego":
            modules[relative.as_posix()] = path.read_text(encoding="utf-8")
            continue
        try:
            document = json.loads(path.read_text(encoding="utf-8"))
        except json.JSONDecodeError as exc:
            raise PolicyEngineError(f"{relative}: invalid JSON ({exc.msg})") from exc
        _place(data, relative.parent.parts, document, relative)
    if not modules:
        raise PolicyEngineError(f"no Rego modules under {policy_dir}")
    return PolicySource(modules=modules, data=data, stamp=stamp)

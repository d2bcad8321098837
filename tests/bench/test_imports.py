"""Benchmarks run from a checkout without the test suite: no ``bench/`` script imports ``tests``."""

from __future__ import annotations

import ast
from pathlib import Path

BENCH = Path(__file__).resolve().parents[2] / "bench"


def _imported_modules(path: Path) -> set[str]:
    modules: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            modules.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            modules.add(node.module)
    return modules


def test_no_benchmark_imports_the_test_suite() -> None:
    scripts = sorted(BENCH.glob("*.py"))
    assert scripts
    offenders = {
        path.name: sorted(m for m in _imported_modules(path) if m.split(".")[0] == "tests")
        for path in scripts
    }
    assert {name: found for name, found in offenders.items() if found} == {}

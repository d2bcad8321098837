"""``federation/`` is a library with no web framework in it (STYLE "Layout").

Problem answers, exception handlers and other FastAPI glue live in ``appkit``; a
module of ``federation/`` that imports FastAPI or Starlette fails here, so the glue
cannot drift back into the library both apps and the CLI depend on.
"""

from __future__ import annotations

import ast
from pathlib import Path

import federation

WEB_FRAMEWORKS = ("fastapi", "starlette")


def _web_imports(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module]
        else:
            continue
        found += [f"{path.name}:{node.lineno} {n}" for n in names if _is_web(n)]
    return found


def _is_web(module: str) -> bool:
    return module.split(".", 1)[0] in WEB_FRAMEWORKS


def test_federation_imports_no_web_framework() -> None:
    root = Path(federation.__file__).resolve().parent
    modules = sorted(root.rglob("*.py"))
    assert len(modules) > 10  # the walk found the package, not an empty folder
    offending = [hit for path in modules for hit in _web_imports(path)]
    assert offending == []


def test_the_check_sees_a_web_import(tmp_path: Path) -> None:
    glue = tmp_path / "glue.py"
    glue.write_text("import os\nfrom starlette.requests import Request\nimport fastapi.routing\n")
    assert _web_imports(glue) == ["glue.py:2 starlette.requests", "glue.py:3 fastapi.routing"]

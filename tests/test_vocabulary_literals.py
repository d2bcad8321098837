"""No Python copy of the category or purpose lists (issue 13, "One vocabulary, from data").

Categories and purposes are defined once, in ``policies/taxonomy/data.json``, and read
through ``federation.vocabulary``. A literal list, tuple, set, dict or ``Literal[...]``
naming three or more of them in the package source is a second copy that will drift
(the consent service once refused a category the policies knew), so this test parses
every module with ``ast`` and fails on one. Tests, docs and demo data may name terms.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from federation.vocabulary import load_vocabulary

REPO = Path(__file__).resolve().parents[1]
PACKAGES = ("appkit", "consent", "federation", "joinedup", "node", "policies")
THRESHOLD = 3  # two names in an example body are an example; three are a list


def _copies(source: str, terms: frozenset[str]) -> list[tuple[int, list[str]]]:
    """(line, terms) for each collection literal naming THRESHOLD or more of ``terms``."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.List | ast.Tuple | ast.Set):
            items = node.elts
        elif isinstance(node, ast.Dict):
            items = [key for key in node.keys if key is not None]
        else:
            continue
        named = [
            item.value
            for item in items
            if isinstance(item, ast.Constant) and isinstance(item.value, str)
            if item.value in terms
        ]
        if len(set(named)) >= THRESHOLD:
            found.append((node.lineno, named))
    return found


def _modules() -> list[Path]:
    return sorted(path for package in PACKAGES for path in (REPO / package).rglob("*.py"))


VOCABULARY = load_vocabulary()
FAMILIES = {
    "categories": frozenset(VOCABULARY.categories),
    "purposes": frozenset(VOCABULARY.purposes),
}


@pytest.mark.parametrize("family", sorted(FAMILIES))
def test_no_module_lists_the_vocabulary_in_code(family: str) -> None:
    copies = [
        f"{path.relative_to(REPO)}:{line}: {', '.join(named)}"
        for path in _modules()
        for line, named in _copies(path.read_text(encoding="utf-8"), FAMILIES[family])
    ]
    assert not copies, f"{family} listed in code; read them from federation.vocabulary:\n" + (
        "\n".join(copies)
    )


@pytest.mark.parametrize(
    "source",
    [
        'Category = Literal["housing", "income", "social_care"]',
        'CATEGORY_ORDER = ("contact_details", "housing", "income", "education")',
        'PURPOSES = ["care_coordination", "safeguarding", "referral"]',
        'FHIR = {"care_coordination": 1, "direct_care": 2, "referral": 3}',
        'ALLOWED = {"housing", "income", "safety"}',
    ],
)
def test_the_check_finds_a_copy_in_any_collection_literal(source: str) -> None:
    terms = FAMILIES["categories"] | FAMILIES["purposes"]
    assert _copies(source, terms)


def test_the_check_leaves_examples_and_single_values_alone() -> None:
    source = 'EXAMPLE = {"purpose": "care_coordination", "categories": ["housing", "income"]}'
    assert not _copies(source, FAMILIES["categories"] | FAMILIES["purposes"])


def test_the_scan_covers_the_modules_that_held_copies() -> None:
    scanned = {str(path.relative_to(REPO)) for path in _modules()}
    for module in (
        "consent/consents/schemas.py",
        "federation/consent_token.py",
        "federation/view.py",
        "node/views/schemas.py",
        "node/config.py",
        "federation/registry.py",
    ):
        assert module in scanned

"""The federation's vocabulary, read once from the policy bundle's taxonomy data.

Need categories (with their special-category and hidden-existence flags), purposes,
organisation kinds, staff roles and consent actions are defined in exactly one
place: ``policies/taxonomy/data.json``, the ``data.taxonomy`` document the Rego
policies read. The consent service, the nodes, the policies and the pages all take
them from there through this module, so adding a category or a purpose is a change
to that file (and to the agreements that let someone see it), never to code.

``load_vocabulary(policy_dir)`` reads the packaged bundle (``policy_dir=None``) or
an operator's ``POLICY_DIR`` copy; a missing or malformed file raises
``VocabularyInvalid`` rather than falling back to a built-in list, so a component
can never accept what the policies do not know (fail closed).

Request models validate against *the vocabulary in force*: each app runs its
requests (and its lifespan) inside ``vocabulary_in_force(app's vocabulary)``
(``appkit.vocabulary``); outside any app (CLI, library use) it is the packaged one.
The pydantic types below (``CategoryId``, ``PurposeId``, ...) check a value against
it with a validator, so an unknown id is an ordinary 422 and a new one needs no code.

The organisation-id pattern (``ORG_ID_PATTERN``) is defined here too; the registry,
join requests, node settings and consent recipients all use this one.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from functools import lru_cache
from pathlib import Path
from types import MappingProxyType
from typing import Annotated, Literal, get_args

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError

from federation.policy_bundle import policy_dir as packaged_policy_dir

__all__ = [
    "CONSENT_SERVICE_KIND",
    "ORG_ID_PATTERN",
    "VOCABULARY_FAMILIES",
    "ActionId",
    "CategoryId",
    "CategoryTerm",
    "FhirCoding",
    "OrgKindId",
    "PurposeId",
    "PurposeTerm",
    "RoleId",
    "RoleTerm",
    "Term",
    "Vocabulary",
    "VocabularyInvalid",
    "current_vocabulary",
    "load_vocabulary",
    "vocabulary_in_force",
]

# An id in the vocabulary: what the policies, the wire and the database store.
_TERM_ID = r"^[a-z][a-z0-9_]{0,63}$"
Family = Literal["categories", "purposes", "actions", "roles", "org_kinds"]
VOCABULARY_FAMILIES: tuple[Family, ...] = get_args(Family)


# An organisation id: a lowercase slug (a-z, 0-9 and '-'), 2-63 characters. The one
# definition the registry, join requests, the node's settings and consent recipients use.
# No '_': node settings never accepted it, and the staff audit pages read org ids back
# out of audit reasons with a pattern that has none (node/web/audit_rows.py).
ORG_ID_PATTERN = r"^[a-z0-9][a-z0-9-]{1,62}$"
# The registry kind of the consent service: a member, but not an organisation kind.
CONSENT_SERVICE_KIND = "consent_service"


class VocabularyInvalid(ValueError):
    """The taxonomy data is missing or malformed: nothing can be checked against it."""


class _Open(BaseModel):
    # Other keys (descriptions, notes for a data-protection officer) are kept, so a
    # policy may read a new attribute without a code change here.
    model_config = ConfigDict(extra="allow", frozen=True)


class FhirCoding(_Open):
    """An HL7 FHIR R4 Coding a term maps to (consent export)."""

    system: str
    code: str
    display: str = ""


class Term(_Open):
    """One term of the vocabulary: its plain-language label and optional description."""

    label: str = Field(min_length=1)
    description: str = ""
    fhir: FhirCoding | None = None


class CategoryTerm(Term):
    """A need category. The flags are required: a typo must not make health ordinary."""

    special: bool
    existence_hidden: bool
    fields: list[str] = Field(default_factory=list)


class PurposeTerm(Term):
    """A purpose; ``record_level: false`` marks an aggregate one no person's view serves."""

    record_level: bool = True


class RoleTerm(Term):
    """A staff role; ``emergency_access`` lets it ask for a view without consent."""

    emergency_access: bool = False


class _Document(_Open):
    categories: dict[Annotated[str, Field(pattern=_TERM_ID)], CategoryTerm] = Field(min_length=1)
    purposes: dict[Annotated[str, Field(pattern=_TERM_ID)], PurposeTerm] = Field(min_length=1)
    actions: dict[Annotated[str, Field(pattern=_TERM_ID)], Term] = Field(min_length=1)
    roles: dict[Annotated[str, Field(pattern=_TERM_ID)], RoleTerm] = Field(min_length=1)
    org_kinds: dict[Annotated[str, Field(pattern=_TERM_ID)], Term] = Field(min_length=1)


class Vocabulary:
    """The terms of one taxonomy file, in the file's order (which orders the pages too)."""

    def __init__(self, document: _Document, source: str) -> None:
        self.source = source
        # Read-only views: one cached Vocabulary is shared by every request.
        self.categories: Mapping[str, CategoryTerm] = MappingProxyType(document.categories)
        self.purposes: Mapping[str, PurposeTerm] = MappingProxyType(document.purposes)
        self.actions: Mapping[str, Term] = MappingProxyType(document.actions)
        self.roles: Mapping[str, RoleTerm] = MappingProxyType(document.roles)
        self.org_kinds: Mapping[str, Term] = MappingProxyType(document.org_kinds)
        if CONSENT_SERVICE_KIND in self.org_kinds:
            raise VocabularyInvalid(f"{source}: {CONSENT_SERVICE_KIND!r} is not an org kind")

    def __repr__(self) -> str:
        return f"Vocabulary({self.source!r})"

    def ids(self, family: Family) -> tuple[str, ...]:
        return tuple(getattr(self, family))

    @property
    def special_categories(self) -> frozenset[str]:
        """Special categories of personal data (UK GDPR art. 9/10): named consent only."""
        return frozenset(c for c, term in self.categories.items() if term.special)

    @property
    def member_kinds(self) -> tuple[str, ...]:
        """What a registry member may be: an organisation kind, or the consent service."""
        return (*self.org_kinds, CONSENT_SERVICE_KIND)

    def labels(self, family: Family) -> dict[str, str]:
        """``{id: label}`` of one family, in the file's order (what the pages list)."""
        return {term_id: term.label for term_id, term in getattr(self, family).items()}

    def label(self, family: Family, term_id: str) -> str:
        term = getattr(self, family).get(term_id)
        return term.label if term is not None else term_id.replace("_", " ")

    def category_rank(self, category: str) -> tuple[int, str]:
        """Sort key: the file's category order, unknown categories last by name."""
        order = list(self.categories)
        return (order.index(category) if category in order else len(order), category)

    def check(self, family: Family, value: str) -> str:
        """``value`` if the family holds it, else ``ValueError`` naming what it holds."""
        if value not in getattr(self, family):
            known = ", ".join(getattr(self, family))
            raise ValueError(f"unknown {_SINGULAR[family]} {value!r}; expected one of: {known}")
        return value


_SINGULAR: dict[str, str] = {
    "categories": "category",
    "purposes": "purpose",
    "actions": "action",
    "roles": "role",
    "org_kinds": "organisation kind",
}


def _read(path: Path) -> Vocabulary:
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise VocabularyInvalid(f"cannot read the taxonomy at {path}: {exc}") from exc
    try:
        document = _Document.model_validate(raw)
    except ValidationError as exc:
        raise VocabularyInvalid(f"the taxonomy at {path} is malformed: {exc}") from exc
    return Vocabulary(document, str(path))


@lru_cache(maxsize=16)
def _load(path: Path) -> Vocabulary:
    return _read(path)


def load_vocabulary(policy_dir: Path | None = None) -> Vocabulary:
    """The vocabulary of ``policy_dir`` (default: the packaged policy bundle), read once."""
    base = policy_dir or packaged_policy_dir()
    return _load((base / "taxonomy" / "data.json").resolve())


_in_force: ContextVar[Vocabulary | None] = ContextVar("joinedup_vocabulary", default=None)


def current_vocabulary() -> Vocabulary:
    """The vocabulary in force: the running app's, else the packaged one."""
    return _in_force.get() or load_vocabulary()


@contextmanager
def vocabulary_in_force(vocabulary: Vocabulary) -> Iterator[Vocabulary]:
    """Validate against ``vocabulary`` inside the block (and tasks started in it)."""
    token = _in_force.set(vocabulary)
    try:
        yield vocabulary
    finally:
        _in_force.reset(token)


def _member_of(family: Family) -> AfterValidator:
    def check(value: str) -> str:
        return current_vocabulary().check(family, value)

    return AfterValidator(check)


_WHERE = "in the federation vocabulary (policies/taxonomy/data.json)"
CategoryId = Annotated[
    str, Field(max_length=64, description=f"A need category {_WHERE}."), _member_of("categories")
]
PurposeId = Annotated[
    str, Field(max_length=64, description=f"A purpose {_WHERE}."), _member_of("purposes")
]
ActionId = Annotated[
    str, Field(max_length=64, description=f"A consent action {_WHERE}."), _member_of("actions")
]
RoleId = Annotated[
    str, Field(max_length=64, description=f"A staff role {_WHERE}."), _member_of("roles")
]
OrgKindId = Annotated[
    str,
    Field(max_length=64, description=f"An organisation kind {_WHERE}."),
    _member_of("org_kinds"),
]

"""federation/__init__.py: every public name imports, and the surface is complete.

Besides "each name in ``__all__`` resolves", this checks the other direction for the
modules that declare their own ``__all__``: a name one of them exports must also be
exported by the package, so a new public function cannot be forgotten here.
"""

from __future__ import annotations

import importlib
import pkgutil

import pytest

import federation

# Imported from their modules on purpose (CLI library, data).
NOT_REEXPORTED = {
    "federation.registry_admin",
    "federation.data",
}


@pytest.mark.parametrize("name", sorted(federation.__all__))
def test_every_public_name_imports(name: str) -> None:
    namespace: dict[str, object] = {}
    exec(f"from federation import {name}", namespace)  # noqa: S102 - the import is the test
    assert namespace[name] is getattr(federation, name)


def test_all_has_no_duplicates() -> None:
    assert len(federation.__all__) == len(set(federation.__all__))


def test_module_level_all_names_are_reexported() -> None:
    missing = []
    for info in pkgutil.iter_modules(federation.__path__, prefix="federation."):
        if info.name in NOT_REEXPORTED:
            continue
        module = importlib.import_module(info.name)
        for name in getattr(module, "__all__", []):
            if name not in federation.__all__:
                missing.append(f"{info.name}.{name}")
    assert missing == []


@pytest.mark.parametrize(
    "name",
    [
        "MemberKeys",
        "RegistryHolder",
        "sign_request",
        "verify_request",
        "seal_response",
        "open_response",
        "linkage_tokens",
        "SharedSection",
        "verify_consent_token",
        "fan_out",
        "assemble_view",
        "SignedTreeHead",
    ],
)
def test_the_core_protocol_is_public(name: str) -> None:
    assert name in federation.__all__

"""A small in-memory federation: an authority, three members and the consent service."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from federation.keys import MemberKeys
from federation.registry import Member, Registry, new_document, sign_registry, verify_registry


@dataclass
class Federation:
    authority: MemberKeys
    keys: dict[str, MemberKeys]
    registry: Registry


def member_for(org_id: str, kind: str, keys: MemberKeys) -> Member:
    return Member(
        org_id=org_id,
        name=org_id.title(),
        kind=kind,  # type: ignore[arg-type]
        base_url=f"http://{org_id}.invalid",
        verify_keys=[keys.verify_key_b64],
        encryption_key=keys.public_key_b64,
    )


@pytest.fixture(scope="module")
def federation() -> Federation:
    authority = MemberKeys.generate()
    kinds = {"council": "council", "gp": "gp", "police": "police", "consent": "consent_service"}
    keys = {org: MemberKeys.generate() for org in kinds}
    members = [member_for(org, kind, keys[org]) for org, kind in kinds.items()]
    signed = sign_registry(new_document("test", 1, members), authority.signing_key)
    return Federation(authority, keys, verify_registry(signed, authority.verify_key))

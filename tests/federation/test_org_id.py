"""One organisation-id rule: the registry, a node's settings and consent recipients agree."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import TypeAdapter, ValidationError

from consent.consents.schemas import OrgId
from federation.keys import MemberKeys
from federation.registry import Member
from node.config import NodeSettings


def _as_member(org_id: str) -> None:
    keys = MemberKeys.generate()
    Member.model_validate(
        {
            "org_id": org_id,
            "name": "Somewhere",
            "kind": "council",
            "base_url": "http://127.0.0.1:1",
            "verify_keys": [keys.verify_key_b64],
            "encryption_key": keys.public_key_b64,
        }
    )


def _as_node(org_id: str, tmp_path: Path) -> None:
    NodeSettings(org_id=org_id, data_dir=tmp_path)


def _as_recipient(org_id: str, tmp_path: Path) -> None:
    TypeAdapter(OrgId).validate_python(org_id)


@pytest.mark.parametrize("check", ["member", "node", "recipient"])
@pytest.mark.parametrize(
    ("org_id", "valid"),
    [
        ("council-a", True),
        ("gp2", True),
        ("a" * 63, True),
        ("north_council", False),
        ("Council", False),
        ("-council", False),
        ("c", False),
        ("a" * 64, False),
    ],
)
def test_every_component_accepts_the_same_org_ids(
    check: str, org_id: str, valid: bool, tmp_path: Path
) -> None:
    def run() -> None:
        if check == "member":
            _as_member(org_id)
        elif check == "node":
            _as_node(org_id, tmp_path)
        else:
            _as_recipient(org_id, tmp_path)

    if valid:
        run()
    else:
        with pytest.raises(ValidationError):
            run()

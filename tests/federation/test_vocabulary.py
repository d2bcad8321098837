"""federation.vocabulary: one taxonomy file, read strictly, validating what is in force."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel, ValidationError

from consent.consents.schemas import ConsentGrant
from federation.policy_bundle import policy_dir
from federation.registry import Member
from federation.vocabulary import (
    CategoryId,
    PurposeId,
    VocabularyInvalid,
    current_vocabulary,
    load_vocabulary,
    vocabulary_in_force,
)
from node.config import NodeSettings


def _bundle(root: Path, change: Any = None) -> Path:
    """A copy of the packaged taxonomy under ``root``, edited by ``change(document)``."""
    (root / "taxonomy").mkdir(parents=True)
    document = json.loads((policy_dir() / "taxonomy" / "data.json").read_text())
    if change is not None:
        change(document)
    (root / "taxonomy" / "data.json").write_text(json.dumps(document))
    return root


def _add_transport(document: dict[str, Any]) -> None:
    document["categories"]["transport"] = {
        "label": "Transport",
        "special": False,
        "existence_hidden": False,
    }
    document["purposes"]["travel_support"] = {"label": "Travel support"}
    document["org_kinds"]["community_transport"] = {"label": "Community transport"}


class _Body(BaseModel):
    categories: list[CategoryId]
    purpose: PurposeId


def test_the_packaged_vocabulary_holds_the_agreed_terms_in_file_order() -> None:
    vocabulary = load_vocabulary()
    assert list(vocabulary.categories)[:2] == ["contact_details", "housing"]
    assert vocabulary.special_categories == {
        "physical_health",
        "mental_health",
        "safety",
        "criminal_justice",
    }
    assert vocabulary.categories["criminal_justice"].existence_hidden
    assert {"care_coordination", "service_planning"} <= set(vocabulary.purposes)
    assert not vocabulary.purposes["service_planning"].record_level
    assert set(vocabulary.actions) == {"read", "refer", "update_plan"}
    assert vocabulary.roles["coordinator"].emergency_access
    assert "consent_service" in vocabulary.member_kinds
    assert "consent_service" not in vocabulary.org_kinds
    assert load_vocabulary() is load_vocabulary(policy_dir())  # read once


def test_a_policy_dir_copy_adds_terms_without_code(tmp_path: Path) -> None:
    vocabulary = load_vocabulary(_bundle(tmp_path, _add_transport))
    assert "transport" in vocabulary.categories
    assert vocabulary.label("categories", "transport") == "Transport"
    assert vocabulary.category_rank("transport") > vocabulary.category_rank("criminal_justice")
    assert vocabulary.check("purposes", "travel_support") == "travel_support"
    with pytest.raises(ValueError, match="unknown category 'pets'"):
        vocabulary.check("categories", "pets")


@pytest.mark.parametrize(
    ("name", "text"),
    [
        ("missing", None),
        ("not json", "{not json"),
        ("no categories", json.dumps({"purposes": {"x": {"label": "X"}}})),
    ],
)
def test_a_missing_or_unreadable_taxonomy_fails_closed(tmp_path: Path, name: str, text: Any):
    (tmp_path / "taxonomy").mkdir()
    if text is not None:
        (tmp_path / "taxonomy" / "data.json").write_text(text)
    with pytest.raises(VocabularyInvalid):
        load_vocabulary(tmp_path)


def _drop_special_flag(document: dict[str, Any]) -> None:
    del document["categories"]["mental_health"]["special"]


def _bad_id(document: dict[str, Any]) -> None:
    document["categories"]["Bad Id"] = {"label": "x", "special": False, "existence_hidden": False}


def _consent_service_kind(document: dict[str, Any]) -> None:
    document["org_kinds"]["consent_service"] = {"label": "Consent"}


@pytest.mark.parametrize("change", [_drop_special_flag, _bad_id, _consent_service_kind])
def test_a_malformed_term_is_refused_rather_than_guessed(tmp_path: Path, change: Any) -> None:
    # A special category without its flag must not quietly become ordinary.
    with pytest.raises(VocabularyInvalid):
        load_vocabulary(_bundle(tmp_path, change))


def test_models_validate_against_the_vocabulary_in_force(tmp_path: Path) -> None:
    body = {"categories": ["transport"], "purpose": "travel_support"}
    with pytest.raises(ValidationError, match="unknown category 'transport'"):
        _Body.model_validate(body)
    with vocabulary_in_force(load_vocabulary(_bundle(tmp_path, _add_transport))):
        assert _Body.model_validate(body).categories == ["transport"]
    assert current_vocabulary() is load_vocabulary()
    with pytest.raises(ValidationError):
        _Body.model_validate(body)


def test_the_consent_grant_schema_takes_a_new_category_from_the_data(tmp_path: Path) -> None:
    provision = {
        "purposes": ["travel_support"],
        "recipients": ["council"],
        "categories": ["transport", "housing"],
        "actions": ["read"],
    }
    with pytest.raises(ValidationError):
        ConsentGrant.model_validate({"provisions": [provision]})
    with vocabulary_in_force(load_vocabulary(_bundle(tmp_path, _add_transport))):
        grant = ConsentGrant.model_validate({"provisions": [provision]})
    assert grant.provisions[0].categories == ["transport", "housing"]


def test_tasks_started_inside_the_block_inherit_the_vocabulary(tmp_path: Path) -> None:
    custom = load_vocabulary(_bundle(tmp_path, _add_transport))

    async def sees_transport() -> bool:
        return "transport" in current_vocabulary().categories

    async def scenario() -> bool:
        # As a lifespan's background tasks (registry poller, outbox) are started.
        with vocabulary_in_force(custom):
            task = asyncio.create_task(sees_transport())
        return await task

    assert asyncio.run(scenario())


def test_node_settings_take_org_kinds_from_their_policy_dir(tmp_path: Path) -> None:
    bundle = _bundle(tmp_path / "bundle", _add_transport)
    base = {"org_id": "ride-on", "data_dir": tmp_path, "org_kind": "community_transport"}
    with pytest.raises(ValidationError, match="unknown organisation kind"):
        NodeSettings(**base)
    assert NodeSettings(**base, policy_dir=bundle).org_kind == "community_transport"


def test_registry_member_kinds_follow_the_vocabulary(tmp_path: Path) -> None:
    member = {
        "org_id": "ride-on",
        "name": "Ride On",
        "kind": "community_transport",
        "base_url": "http://127.0.0.1:9",
        "verify_keys": ["A" * 43],
        "encryption_key": "A" * 43,
    }
    with pytest.raises(ValidationError, match="unknown member kind"):
        Member.model_validate(member)
    with vocabulary_in_force(load_vocabulary(_bundle(tmp_path, _add_transport))):
        assert Member.model_validate(member).kind == "community_transport"
    assert Member.model_validate({**member, "kind": "consent_service"}).kind == "consent_service"

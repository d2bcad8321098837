"""Signed catalogues (federation.catalogue): verified by the publisher's registry keys
only, any change to the document refused; eligibility checked at its boundaries."""

from __future__ import annotations

import copy
import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from federation.catalogue import (
    CatalogueDocument,
    CatalogueInvalid,
    Eligibility,
    ServiceEntry,
    postcode_district,
    sign_catalogue,
    verify_catalogue,
    verify_catalogue_parts,
)
from tests.federation.conftest import Federation

NOW = dt.datetime(2026, 12, 1, 12, 0, tzinfo=dt.UTC)


def _document(org_id: str = "council", version: int = 3) -> CatalogueDocument:
    return CatalogueDocument(
        org_id=org_id,
        version=version,
        issued_at=NOW,
        services=[
            ServiceEntry(
                id="tenancy-support",
                name="Tenancy support",
                description="Help to keep a home: arrears, repairs, neighbours.",
                categories=["housing", "income"],
                eligibility=Eligibility(min_age=16, postcode_districts=["LS1", "LS2"]),
                capacity="waiting_list",
                typical_wait_days=10,
            )
        ],
    )


def test_a_catalogue_verifies_under_its_publishers_registry_key(federation: Federation) -> None:
    signed = sign_catalogue(_document(), federation.keys["council"].signing_key)
    document = verify_catalogue(signed, registry=federation.registry, publisher="council")
    assert document == _document()


@pytest.mark.parametrize(
    ("path", "value"),
    [
        (("services", 0, "capacity"), "open"),
        (("services", 0, "eligibility", "min_age"), 0),
        (("version",), 4),
    ],
)
def test_any_change_to_a_signed_catalogue_is_refused(
    federation: Federation, path: tuple[str | int, ...], value: object
) -> None:
    signed = sign_catalogue(_document(), federation.keys["council"].signing_key)
    tampered = copy.deepcopy(signed)
    target = tampered["catalogue"]
    for step in path[:-1]:
        target = target[step]
    target[path[-1]] = value
    with pytest.raises(CatalogueInvalid):
        verify_catalogue(tampered, registry=federation.registry, publisher="council")


def test_a_catalogue_signed_by_another_member_is_refused(federation: Federation) -> None:
    # The police sign a catalogue that claims to be the council's.
    signed = sign_catalogue(_document("council"), federation.keys["police"].signing_key)
    with pytest.raises(CatalogueInvalid):
        verify_catalogue(signed, registry=federation.registry, publisher="council")


def test_a_members_own_catalogue_cannot_pass_as_a_partners(federation: Federation) -> None:
    signed = sign_catalogue(_document("police"), federation.keys["police"].signing_key)
    assert verify_catalogue(signed, registry=federation.registry, publisher="police")
    with pytest.raises(CatalogueInvalid):
        verify_catalogue(signed, registry=federation.registry, publisher="council")


@pytest.mark.parametrize("junk", [None, [], {"catalogue": {}}, {"catalogue": {}, "signature": 5}])
def test_junk_is_not_a_catalogue(federation: Federation, junk: object) -> None:
    with pytest.raises(CatalogueInvalid):
        verify_catalogue(junk, registry=federation.registry, publisher="council")


@pytest.mark.parametrize(
    ("text", "district"),
    [
        ("LS1 4AP", "LS1"),
        ("ls14ap", "LS1"),
        ("LS1", "LS1"),
        ("SW1A 1AA", "SW1A"),
        ("M60", "M60"),
        ("EC1V 9NR", "EC1V"),
        ("", None),
        ("not a postcode", None),
        ("1234", None),
    ],
)
def test_postcode_district(text: str, district: str | None) -> None:
    assert postcode_district(text) == district


def test_districts_are_checked_and_normalised() -> None:
    assert Eligibility(postcode_districts=["ls1", "LS1", "M60"]).postcode_districts == [
        "LS1",
        "M60",
    ]
    with pytest.raises(ValueError, match="postcode district"):
        Eligibility(postcode_districts=["LS1 4AP"])
    with pytest.raises(ValueError, match="min_age"):
        Eligibility(min_age=18, max_age=17)


def test_text_with_nul_is_refused() -> None:
    with pytest.raises(ValueError, match="NUL"):
        ServiceEntry(id="x", name="a\x00b", categories=["housing"])


ages = st.integers(min_value=0, max_value=130)


@given(low=ages, span=st.integers(min_value=0, max_value=40), age=ages)
def test_age_is_admitted_exactly_inside_the_inclusive_range(low: int, span: int, age: int) -> None:
    high = min(low + span, 130)
    eligibility = Eligibility(min_age=low, max_age=high)
    assert eligibility.admits(age=age) == (low <= age <= high)
    assert eligibility.admits(age=low)
    assert eligibility.admits(age=high)
    assert Eligibility(min_age=low).admits(age=age) == (age >= low)
    assert Eligibility(max_age=high).admits(age=age) == (age <= high)


def test_an_unknown_age_or_district_is_not_held_against_the_person() -> None:
    eligibility = Eligibility(min_age=18, max_age=25, postcode_districts=["LS1"])
    assert eligibility.admits()
    assert eligibility.admits(district="LS1")
    assert not eligibility.admits(district="LS2")
    assert Eligibility().admits(age=90, district="ZZ9")


def test_services_already_held_are_not_validated_again_but_still_signed(
    federation: Federation,
) -> None:
    signed = sign_catalogue(_document(), federation.keys["council"].signing_key)
    first = verify_catalogue_parts(signed, registry=federation.registry, publisher="council")
    known = {s.digest for s in first.services}
    again = verify_catalogue_parts(
        signed, registry=federation.registry, publisher="council", known=known
    )
    assert [s.entry for s in again.services] == [None]
    # A held digest does not excuse a change: the signature covers every byte.
    tampered = copy.deepcopy(signed)
    tampered["catalogue"]["services"][0]["name"] = "Something else"
    with pytest.raises(CatalogueInvalid):
        verify_catalogue_parts(
            tampered, registry=federation.registry, publisher="council", known=known
        )

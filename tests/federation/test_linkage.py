from datetime import date

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from federation.linkage import LinkageKey, linkage_tokens, normalise_name, token_version

KEY = LinkageKey(1, b"k" * 32)


def _tokens(**overrides):
    args = {
        "key": KEY,
        "family_name": "O'Brien",
        "given_name": "Siobhán",
        "date_of_birth": date(1990, 5, 17),
        "postcode": "AB1 2CD",
        "national_number": "943 476 5919",
    }
    args.update(overrides)
    return linkage_tokens(**args)


def test_spelling_variants_give_the_same_tokens():
    assert _tokens() == _tokens(
        family_name="OBRIEN", given_name="siobhan", postcode="ab12cd", national_number="9434765919"
    )


def test_different_person_gives_different_tokens():
    assert set(_tokens()).isdisjoint(_tokens(date_of_birth=date(1990, 5, 18), national_number=None))


def test_key_rotation_changes_tokens_and_records_version():
    rotated = _tokens(key=LinkageKey(2, b"z" * 32))
    assert set(rotated).isdisjoint(_tokens())
    assert {token_version(t) for t in rotated} == {2}


def test_tokens_reveal_no_identifier():
    joined = " ".join(_tokens()).lower()
    for part in ("brien", "siobh", "1990", "ab12cd", "9434765919"):
        assert part not in joined


def test_short_key_is_refused():
    with pytest.raises(ValueError, match="16 bytes"):
        LinkageKey(1, b"short")


@settings(max_examples=100, deadline=None)
@given(st.text(max_size=30))
def test_normalisation_is_idempotent(name):
    assert normalise_name(normalise_name(name)) == normalise_name(name)

"""to_rego_input: the direct C conversion carries exactly what regopy's own Input does.

A policy hands its input back (``value := input``), so each test compares what
rego-cpp holds, not how it was built.
"""

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from regopy import Input, Interpreter, LogLevel

from node.policy.embedded import EmbeddedRegoEngine
from node.policy.engine import DEFAULT_POLICY_DIR, PACKAGES
from node.policy.rego_input import NotDirectlyConvertible, rego_safe_text, to_rego_input

ECHO = "package echo\nimport rego.v1\nvalue := input\n"


@pytest.fixture(scope="module")
def echo():
    builder = Interpreter()
    builder.log_level = LogLevel.NONE
    builder.add_module("echo.rego", ECHO)
    bundle = builder.build(None, ["echo/value"])
    interpreter = Interpreter()
    interpreter.log_level = LogLevel.NONE

    def held(value_input: Input):
        interpreter.set_input(value_input)
        output = interpreter.query_bundle_entrypoint(bundle, "echo/value")
        assert output.ok()
        return json.loads(str(output))["expressions"][0]

    return held


# JSON values the C API carries exactly: int64 integers, finite floats, and text
# without the characters rego_safe_text replaces (regopy cannot even read a result
# holding them back).
_text = st.text(
    st.characters(exclude_categories=["Cc", "Cs"], exclude_characters='"\\'), max_size=12
)
json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**63), 2**63 - 1)
    | st.floats(allow_nan=False, allow_infinity=False, width=32)
    | _text,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(_text, inner, max_size=4),
    max_leaves=25,
)


@settings(max_examples=200, deadline=None)
@given(json_values)
def test_direct_conversion_holds_the_same_value_as_regopys_input(echo, value):
    assert echo(to_rego_input(value)) == echo(Input(value))


def test_a_share_input_round_trips_exactly(echo, share_input):
    assert echo(to_rego_input(share_input)) == share_input


@settings(max_examples=300)
@given(st.text(st.characters(exclude_categories=["Cs"])))
def test_safe_text_keeps_length_and_whitespace_and_drops_what_rego_cpp_cannot_echo(text):
    safe = rego_safe_text(text)
    assert len(safe) == len(text)
    assert not any(c in safe for c in '"\\')
    assert all(ord(c) >= 0x20 for c in safe)
    for original, kept in zip(text, safe, strict=True):
        # Rego's trim_space (Go's unicode.IsSpace) must see the same whitespace.
        assert (original in " \t\n\r\v\f") == (kept == " ")


def test_quotes_backslashes_and_control_characters_reach_the_policy_replaced(echo):
    held = echo(to_rego_input({"s": 'a"b\\c\td\x00e'}))
    assert held == {"s": "a\uff02b\uff3cc d\ufffde"}


@pytest.mark.parametrize(
    "value",
    [
        {"n": 2**63},
        {"n": -(2**63) - 1},
        {1: "non-string key"},
        {"when": object()},
        [{"nested": {"deep": [b"bytes"]}}],
    ],
    ids=["int64-max+1", "int64-min-1", "int-key", "object", "bytes"],
)
def test_values_the_c_api_would_change_are_refused(value):
    with pytest.raises(NotDirectlyConvertible):
        to_rego_input(value)


INJECTED = (
    'zz"}],"allow":true,"categories":["mental_health"],"obligations":[],'
    '"reasons":[],"withheld":[],"withheld_fields":{},"q":[{"a":"'
)


def test_an_echoed_string_cannot_rewrite_a_denial_into_a_release(share_input):
    # Regression: a requested "category" crafted as JSON once turned a denial into
    # the release of mental health records (rego-cpp echoes strings unescaped).
    share_input["consent"] = {"valid": False, "provisions": []}
    share_input["requested_categories"] = ["mental_health", INJECTED]
    decision = EmbeddedRegoEngine(DEFAULT_POLICY_DIR, cache_size=0).decide("share", share_input)
    assert decision.allow is False
    assert decision.categories == []
    assert {w.code for w in decision.withheld} == {"consent_not_valid", "unknown_category"}


def test_a_refused_role_cannot_rewrite_the_decision_either(share_input):
    share_input["consent"] = {"valid": False, "provisions": []}
    share_input["requester"]["role"] = INJECTED
    share_input["emergency"] = {"basis": "vital_interests", "justification": "x" * 40}
    decision = EmbeddedRegoEngine(DEFAULT_POLICY_DIR, cache_size=0).decide("share", share_input)
    assert decision.allow is False
    assert any("may not use the emergency path" in r for r in decision.reasons)


def test_a_justification_with_quotes_and_line_breaks_still_counts(share_input):
    share_input["requester"] = {
        "org_id": "police",
        "org_kind": "police",
        "role": "safeguarding_lead",
        "staff": "pseud_sg",
    }
    share_input["consent"] = {"valid": False, "provisions": []}
    share_input["emergency"] = {
        "basis": "vital_interests",
        "justification": 'Caller said "he is outside"\nand the line went dead.',
    }
    decision = EmbeddedRegoEngine(DEFAULT_POLICY_DIR, cache_size=0).decide("share", share_input)
    assert decision.allow is True
    assert "flag_emergency" in decision.obligations


def test_an_integer_beyond_int64_in_a_string_heavy_input_takes_the_exact_path(tmp_path, rego):
    (tmp_path / "p").mkdir()
    for package in PACKAGES:
        (tmp_path / "p" / f"{package}.rego").write_text(
            f"package joinedup.{package}\nimport rego.v1\n"
            'decision := {"allow": false, "reasons": [input.c, json.marshal(input.n)]}\n'
        )
    engine = EmbeddedRegoEngine(tmp_path / "p", watch=False)
    decision = engine.decide("share", {"c": 'say "x"', "n": 2**64})
    if rego == "regopy":
        assert decision.reasons == ["say \uff02x\uff02", str(2**64)]
    else:  # regorus would round it: refused (tests/node/policy/test_regorus_engine.py)
        assert "beyond int64" in decision.reasons[0]
    decision = engine.decide("share", {"c": 'say "x"', "n": 2**63 - 1})
    assert decision.reasons == ["say \uff02x\uff02", str(2**63 - 1)]

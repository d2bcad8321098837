"""The regorus backend: what it does differently from rego-cpp, and the guards it needs."""

import json
from pathlib import Path

import pytest
import regorus
from hypothesis import given, settings
from hypothesis import strategies as st

from node.policy.embedded import EmbeddedRegoEngine
from node.policy.engine import DEFAULT_POLICY_DIR, PACKAGES
from node.policy.rego_input import rego_safe_json, rego_safe_json_text

ECHO = (
    'package joinedup.share\nimport rego.v1\ndecision := {"allow": false, "reasons": [input.s]}\n'
)
HOSTILE = [
    'x","allow":true,"categories":["mental_health"],"q":"',
    "back\\slash \\u0022 and \\\\",
    "nul \x00 bell \x07 tab \t line \n return \r",
    "\u2028 \uff02 \U0001f600",
]


def _vm(policy: str):
    program = regorus.Program.compile_from_modules(
        "{}", [("p.rego", policy)], ["data.joinedup.share.decision"]
    )
    vm = regorus.Rvm()
    vm.load_program(program)
    vm.set_data_json("{}")
    return vm


@pytest.mark.parametrize("text", HOSTILE)
def test_regorus_escapes_what_it_echoes_unlike_rego_cpp(text):
    # rego-cpp 1.5.2 writes strings into its result unescaped (node/policy/rego_input.py);
    # regorus does not: its raw result reads back as exactly the string it was given.
    vm = _vm(ECHO)
    vm.set_input_json(json.dumps({"s": text}))
    result = json.loads(vm.execute_entry_point("data.joinedup.share.decision"))
    assert result == {"allow": False, "reasons": [text]}


@pytest.mark.parametrize("text", HOSTILE)
def test_the_engine_still_hands_regorus_the_strings_regopy_sees(tmp_path: Path, text):
    (tmp_path / "p").mkdir()
    for package in PACKAGES:
        (tmp_path / "p" / f"{package}.rego").write_text(
            ECHO.replace("joinedup.share", f"joinedup.{package}")
        )
    engines = [EmbeddedRegoEngine(tmp_path / "p", rego=r) for r in ("regorus", "regopy")]
    decisions = [engine.decide("audit", {"s": text}) for engine in engines]
    assert decisions[0] == decisions[1]
    assert decisions[0].reasons == [json.loads(rego_safe_json(text))]


@settings(max_examples=300, deadline=None)
@given(st.recursive(st.text(), lambda inner: st.lists(inner) | st.dictionaries(st.text(), inner)))
def test_making_json_text_safe_equals_making_the_value_safe(value):
    text = json.dumps(value, sort_keys=True)
    # Read back, so that two keys made equal by the replacement keep the same one
    # of their values on both sides (the last in the text).
    assert json.loads(rego_safe_json_text(text)) == json.loads(rego_safe_json(json.loads(text)))


UNDEFINED_IN_ARRAY = (
    "package joinedup.share\nimport rego.v1\n"
    'names := {"a": "x"}\n'
    'decision := {"allow": false, "reasons": [r | some c in input.xs; r := names[c]]}\n'
)


def test_regorus_vm_puts_an_undefined_marker_into_a_comprehension(tmp_path: Path):
    # regorus 0.13.0's VM keeps an element whose value is undefined, as the string
    # "<undefined>", where Rego (and regorus's own interpreter) drop it. If this
    # starts failing, a new regorus fixed it: keep the guard below regardless.
    vm = _vm(UNDEFINED_IN_ARRAY)
    vm.set_input_json('{"xs": ["a", "b"]}')
    raw = json.loads(vm.execute_entry_point("data.joinedup.share.decision"))
    assert raw["reasons"] == ["x", "<undefined>"]


def test_a_result_holding_the_undefined_marker_is_a_denial(tmp_path: Path):
    (tmp_path / "p").mkdir()
    for package in PACKAGES:
        (tmp_path / "p" / f"{package}.rego").write_text(
            UNDEFINED_IN_ARRAY.replace("joinedup.share", f"joinedup.{package}")
        )
    engine = EmbeddedRegoEngine(tmp_path / "p", rego="regorus", watch=False)
    decision = engine.decide("audit", {"xs": ["a", "b"]})
    assert decision.allow is False
    assert decision.reasons[0].startswith("policy engine error")
    assert "undefined" in decision.reasons[0]
    assert engine.decide("audit", {"xs": ["a"]}).reasons == ["x"]


def test_the_share_rules_worked_out_once_are_in_the_compiled_data():
    engine = EmbeddedRegoEngine(DEFAULT_POLICY_DIR, rego="regorus")
    contexts = json.loads(engine._loaded.compiled._data_json)["precomputed"]["share"]["contexts"]
    agreed = contexts["gp"]["council"]["coordinator"]["care_coordination"]["agreed"]
    assert agreed["physical_health"] == ["clinical_notes"]
    assert "frontline" in contexts["gp"]["council"]
    assert (
        "physical_health"
        not in contexts["gp"]["council"]["frontline"]["care_coordination"]["agreed"]
    )


def test_data_may_not_claim_the_precomputed_key(policy_copy: Path):
    (policy_copy / "precomputed").mkdir()
    (policy_copy / "precomputed" / "data.json").write_text('{"share": {}}')
    engine = EmbeddedRegoEngine(policy_copy)
    assert "reserved" in (engine.load_error or "")


def test_regorus_is_the_default_and_regopy_is_one_setting_away():
    from node.config import NodeSettings
    from node.policy import build_policy_engine

    assert NodeSettings.model_fields["policy_rego"].default == "regorus"
    assert build_policy_engine(rego="regorus").rego == "regorus"  # type: ignore[attr-defined]
    assert build_policy_engine(rego="regopy").rego == "regopy"  # type: ignore[attr-defined]
    with pytest.raises(ValueError, match="unknown Rego implementation"):
        build_policy_engine(rego="rego-cpp")

"""EmbeddedRegoEngine: fail-closed behaviour, reload on change, thread safety."""

import json
import math
import threading
from pathlib import Path

import pytest

from node.policy import PolicyEngine, build_policy_engine
from node.policy.embedded import EmbeddedRegoEngine
from node.policy.engine import DEFAULT_POLICY_DIR, PACKAGES

ERROR = "policy engine error"


def _denied_by_error(decision) -> bool:
    return decision.allow is False and decision.reasons[0].startswith(ERROR)


def test_factory_builds_the_embedded_engine_on_the_repository_policies(share_input):
    engine = build_policy_engine()
    assert isinstance(engine, EmbeddedRegoEngine)
    assert isinstance(engine, PolicyEngine)
    assert engine.decide("share", share_input).allow is True


def test_factory_refuses_an_unknown_engine_and_opa_without_url():
    with pytest.raises(ValueError, match="unknown policy engine"):
        build_policy_engine(engine="magic")
    with pytest.raises(ValueError, match="opa_url"):
        build_policy_engine(engine="opa")


def test_unknown_package_is_denied(share_input):
    decision = build_policy_engine().decide("admin", share_input)
    assert _denied_by_error(decision)
    assert "unknown policy package" in decision.reasons[0]


@pytest.mark.parametrize("bad", [{"x": object()}, {"x": math.nan}])
def test_input_that_is_not_json_is_denied(bad):
    assert _denied_by_error(build_policy_engine().decide("share", bad))


def test_missing_policy_directory_denies_everything(tmp_path, share_input):
    engine = EmbeddedRegoEngine(tmp_path / "nowhere")
    assert engine.load_error is not None
    decision = engine.decide("share", share_input)
    assert _denied_by_error(decision)
    assert "policies unavailable" in decision.reasons[0]


def test_a_syntax_error_denies_until_fixed(policy_copy: Path, share_input):
    rego = policy_copy / "share" / "share.rego"
    good = rego.read_text()
    rego.write_text(good.replace("decision := {", "decision := {{", 1))
    engine = EmbeddedRegoEngine(policy_copy, watch=False)
    assert engine.load_error is not None
    assert _denied_by_error(engine.decide("share", share_input))
    rego.write_text(good)
    engine.reload()
    assert engine.load_error is None
    assert engine.decide("share", share_input).allow is True


def test_invalid_data_json_denies(policy_copy: Path, share_input):
    (policy_copy / "share" / "data.json").write_text("{not json")
    engine = EmbeddedRegoEngine(policy_copy)
    assert "invalid JSON" in (engine.load_error or "")
    assert _denied_by_error(engine.decide("share", share_input))


def test_changing_agreements_is_a_data_change_picked_up_without_restart(
    policy_copy: Path, share_input
):
    engine = EmbeddedRegoEngine(policy_copy, check_interval_s=0.0)
    assert engine.decide("share", share_input).categories == ["contact_details", "physical_health"]
    data_file = policy_copy / "share" / "data.json"
    data = json.loads(data_file.read_text())
    for agreement in data["agreements"]["gp"]["council"]:
        agreement["categories"] = [c for c in agreement["categories"] if c != "physical_health"]
    data_file.write_text(json.dumps(data, indent=1))
    generation = engine.generation
    decision = engine.decide("share", share_input)
    assert engine.generation > generation
    assert decision.categories == ["contact_details"]
    assert [w.code for w in decision.withheld] == ["not_in_agreement"]


def test_emergency_roles_are_data(policy_copy: Path, share_input):
    share_input = dict(
        share_input,
        requester=dict(share_input["requester"], role="frontline"),
        requested_categories=["physical_health"],
        consent={"valid": False},
        emergency={
            "basis": "vital_interests",
            "justification": "Collapsed in the office, need meds",
        },
    )
    engine = EmbeddedRegoEngine(policy_copy, watch=False)
    assert engine.decide("share", share_input).allow is False
    taxonomy_file = policy_copy / "taxonomy" / "data.json"
    taxonomy = json.loads(taxonomy_file.read_text())
    taxonomy["roles"]["frontline"]["emergency_access"] = True
    taxonomy_file.write_text(json.dumps(taxonomy))
    engine.reload()
    decision = engine.decide("share", share_input)
    assert decision.allow is True
    assert decision.obligations == ["flag_emergency", "notify_customer"]


def test_a_policy_runtime_error_is_a_denial(policy_copy: Path, share_input):
    # Two complete definitions with different values: OPA calls this a conflict error.
    rego = policy_copy / "share" / "share.rego"
    rego.write_text(rego.read_text() + '\ndecision := {"allow": true} if input.action == "read"\n')
    engine = EmbeddedRegoEngine(policy_copy, watch=False)
    assert engine.load_error is None
    assert _denied_by_error(engine.decide("share", share_input))


def test_an_undefined_decision_is_a_denial(tmp_path: Path, share_input):
    (tmp_path / "p").mkdir()
    for package in PACKAGES:
        (tmp_path / "p" / f"{package}.rego").write_text(
            f"package joinedup.{package}\nimport rego.v1\n"
            'decision := {"allow": true} if input.never_present == 1\n'
        )
    engine = EmbeddedRegoEngine(tmp_path / "p", watch=False)
    assert engine.load_error is None
    decision = engine.decide("share", share_input)
    assert _denied_by_error(decision)
    assert "undefined" in decision.reasons[0]


def test_a_policy_allowing_without_releasing_is_refused(tmp_path: Path, share_input):
    (tmp_path / "p").mkdir()
    for package in PACKAGES:
        (tmp_path / "p" / f"{package}.rego").write_text(
            f"package joinedup.{package}\nimport rego.v1\n"
            'decision := {"allow": true, "categories": ["criminal_justice"]}\n'
        )
    engine = EmbeddedRegoEngine(tmp_path / "p", watch=False)
    decision = engine.decide("share", share_input)
    assert _denied_by_error(decision)
    assert decision.categories == []
    assert engine.decide("act", {}).allow is True


def test_threads_each_get_correct_decisions(share_input):
    # No decision cache: every call must really run rego-cpp on its own thread.
    engine = EmbeddedRegoEngine(DEFAULT_POLICY_DIR, cache_size=0)
    frontline = dict(share_input, requester=dict(share_input["requester"], role="frontline"))
    expected = {
        "coordinator": engine.decide("share", share_input),
        "frontline": engine.decide("share", frontline),
    }
    assert expected["coordinator"] != expected["frontline"]
    wrong: list[str] = []

    def work(role: str, request: dict) -> None:
        for _ in range(40):
            if engine.decide("share", request) != expected[role]:
                wrong.append(role)

    threads = [
        threading.Thread(target=work, args=("coordinator", share_input)),
        threading.Thread(target=work, args=("frontline", frontline)),
        threading.Thread(target=work, args=("coordinator", share_input)),
        threading.Thread(target=work, args=("frontline", frontline)),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert wrong == []


def test_integers_beyond_int64_are_passed_exactly_or_refused(tmp_path: Path, rego: str):
    # regopy's set_input wraps such integers silently and regorus turns them into
    # floats; the engine must do neither: regopy gets them exactly as JSON text,
    # regorus refuses them (a denial).
    (tmp_path / "p").mkdir()
    for package in PACKAGES:
        (tmp_path / "p" / f"{package}.rego").write_text(
            f"package joinedup.{package}\nimport rego.v1\n"
            'decision := {"allow": false, "reasons": [json.marshal(input.n)]}\n'
        )
    engine = EmbeddedRegoEngine(tmp_path / "p", watch=False)
    beyond = engine.decide("audit", {"n": 2**64 + 1, "s": "12345678901234567890123"})
    if rego == "regopy":
        assert beyond.reasons == [str(2**64 + 1)]
    else:
        assert _denied_by_error(beyond)
        assert "beyond int64" in beyond.reasons[0]
    assert engine.decide("audit", {"n": 2**63 - 1}).reasons == [str(2**63 - 1)]
    assert engine.decide("audit", {"n": -(2**63)}).reasons == [str(-(2**63))]
    # A long run of digits inside a string is not an integer.
    assert engine.decide("audit", {"n": -5, "s": "12345678901234567890123"}).reasons == ["-5"]


def test_a_cached_decision_cannot_be_changed_by_a_caller(share_input):
    engine = EmbeddedRegoEngine(DEFAULT_POLICY_DIR)
    first = engine.decide("share", share_input)
    first.categories.append("criminal_justice")
    first.obligations.clear()
    again = engine.decide("share", share_input)
    assert again.categories == ["contact_details", "physical_health"]
    assert again == EmbeddedRegoEngine(DEFAULT_POLICY_DIR, cache_size=0).decide(
        "share", share_input
    )


def test_the_decision_cache_is_bounded_and_keyed_by_the_whole_input(share_input):
    engine = EmbeddedRegoEngine(DEFAULT_POLICY_DIR, cache_size=2)
    frontline = dict(share_input, requester=dict(share_input["requester"], role="frontline"))
    assert engine.decide("share", share_input).categories == ["contact_details", "physical_health"]
    assert engine.decide("share", frontline).categories == ["contact_details"]
    engine.decide("share", dict(share_input, subject_id="sub_other"))
    assert len(engine._cache) == 2


def test_a_reload_never_serves_a_decision_cached_under_the_old_policy(
    policy_copy: Path, share_input
):
    engine = EmbeddedRegoEngine(policy_copy, watch=False)
    assert engine.decide("share", share_input).allow is True
    (policy_copy / "share" / "data.json").write_text('{"agreements": {}}')
    engine.reload()
    assert engine.decide("share", share_input).allow is False

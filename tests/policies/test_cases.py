"""Every policy case in policies/<package>/cases.yaml, run through the embedded engine
(once on each Rego implementation)."""

import json

import pytest

from node.policy.cases import PolicyCase, load_cases
from node.policy.engine import DEFAULT_POLICY_DIR, PACKAGES, PolicyDecision, WithheldCategory

ALL_CASES = [case for package in PACKAGES for case in load_cases(package)]


@pytest.mark.parametrize("case", ALL_CASES, ids=[f"{c.package}: {c.name}" for c in ALL_CASES])
def test_policy_case(embedded_engine, case: PolicyCase):
    decision = embedded_engine.decide(case.package, case.input)
    assert case.mismatches(decision) == []


def test_there_are_at_least_sixty_cases_and_every_package_has_some():
    assert len(ALL_CASES) >= 60
    assert {c.package for c in ALL_CASES} == set(PACKAGES)


def test_every_allow_path_and_every_denial_code_is_exercised():
    share = [c for c in ALL_CASES if c.package == "share"]
    codes = set(
        json.loads((DEFAULT_POLICY_DIR / "share" / "data.json").read_text())["withheld_reasons"]
    )
    seen_codes = {code for c in share for code in (c.expect.withheld or {}).values()}
    assert seen_codes == codes
    emergency_allows = {
        c.input["emergency"]["basis"] for c in share if c.expect.allow and c.input.get("emergency")
    }
    assert emergency_allows == {"vital_interests", "safeguarding"}
    assert any(c.expect.allow and not c.input.get("emergency") for c in share)
    audit_scopes = {
        next(iter(c.expect.scope)) for c in ALL_CASES if c.package == "audit" and c.expect.allow
    }
    assert audit_scopes == {"org_id", "subject_id", "request_id"}
    act = [c for c in ALL_CASES if c.package == "act" and c.expect.allow]
    assert {c.input["action"] for c in act} == {"refer", "create_action", "update_plan"}


def test_the_referral_cases_reach_every_rule_of_the_act_policy():
    act = [c for c in ALL_CASES if c.package == "act"]
    data = json.loads((DEFAULT_POLICY_DIR / "act" / "data.json").read_text())
    referrals = [c for c in act if c.expect.allow and c.input["action"] == "refer"]
    urgencies = set(data.get("referral", {}).get("urgencies") or ("routine", "urgent", "emergency"))
    assert {c.input["urgency"] for c in referrals} == urgencies
    emergency_bases = {
        c.input["emergency"]["basis"]
        for c in referrals
        if "flag_emergency" in (c.expect.obligations or [])
    }
    assert emergency_bases == set(data["emergency"]["bases"])
    with_contact = [c for c in referrals if c.input.get("contact_details") is True]
    opened = {"receive_contact_details" in (c.expect.obligations or []) for c in with_contact}
    assert opened == {True, False}
    malformed = [c for c in act if "incomplete or malformed" in " ".join(c.expect.reasons_include)]
    assert len(malformed) >= 10
    # Every direction an agreement covers is exercised by an allowed referral.
    directions = {
        (holder, requester)
        for holder, by_requester in data["agreements"].items()
        for requester, entries in by_requester.items()
        if any("refer" in e["actions"] for e in entries)
    }
    exercised = {
        (c.input["holder"]["org_kind"], c.input["requester"]["org_kind"]) for c in referrals
    }
    assert directions <= exercised


def test_a_wrong_expectation_is_reported():
    case = ALL_CASES[0]
    wrong = PolicyDecision(
        allow=not case.expect.allow,
        categories=["criminal_justice"],
        withheld=[WithheldCategory(category="criminal_justice", reason="x", code="no_consent")],
        reasons=["criminal_justice hidden"],
    )
    strict = case.model_copy(
        update={"expect": case.expect.model_copy(update={"never_mentions": ["criminal_justice"]})}
    )
    problems = strict.mismatches(wrong)
    assert any(p.startswith("allow") for p in problems)
    assert any(p.startswith("categories") for p in problems)
    assert any("must never reveal" in p for p in problems)


def test_base_input_is_merged_not_replaced():
    case = next(
        c for c in ALL_CASES if c.name.startswith("front-line worker does not get physical")
    )
    assert case.input["requester"] == {
        "org_id": "council",
        "org_kind": "council",
        "role": "frontline",
        "staff": "pseud_coord_1",
    }
    assert case.input["holder"] == {"org_id": "gp", "org_kind": "gp"}


# The codes that say "the holder has records of this, consent is what is missing".
HELD_CODES = {"consent_not_valid", "special_category_needs_explicit_consent", "no_consent"}


@pytest.mark.parametrize(
    "case",
    [c for c in ALL_CASES if c.package == "share"],
    ids=[c.name for c in ALL_CASES if c.package == "share"],
)
def test_withheld_claims_holding_only_for_categories_the_holder_holds(embedded_engine, case):
    decision = embedded_engine.decide("share", case.input)
    held = case.input.get("held_categories") or []
    for w in decision.withheld:
        assert w.held == (w.code in HELD_CODES)
        if w.held:
            assert w.category in held

"""Every engine gives identical decisions (DESIGN: "Policy").

The embedded engine runs the policies on regorus (the default) and on regopy;
both must agree with each other and with an OPA server on every policy case and
on generated corpora of share and act inputs (node/policy/corpus.py). The OPA side runs against
tests/policies/opa_contract_server.py: a real HTTP server on loopback
implementing OPA's Data API (a contract test; no OPA binary can be installed
here). It is given the policy directory as it is, without the rules the
embedded engines work out once per generation, so it also checks that the
policy's own fallback reaches the same decisions.
"""

import pytest

from node.policy.cases import load_cases
from node.policy.corpus import act_corpus, share_corpus
from node.policy.engine import PACKAGES

ALL_CASES = [case for package in PACKAGES for case in load_cases(package)]
CORPUS = share_corpus(400)
ACT_CORPUS = act_corpus(300)


@pytest.mark.parametrize("case", ALL_CASES, ids=[f"{c.package}: {c.name}" for c in ALL_CASES])
def test_every_engine_agrees_on_every_case(embedded_engines, opa_engine, case):
    regorus = embedded_engines["regorus"].decide(case.package, case.input)
    assert not any(r.startswith("policy engine error") for r in regorus.reasons)
    assert embedded_engines["regopy"].decide(case.package, case.input) == regorus
    assert opa_engine.decide(case.package, case.input) == regorus


def test_every_engine_agrees_on_the_generated_corpus(embedded_engines, opa_engine):
    differ = []
    for request in CORPUS:
        regorus = embedded_engines["regorus"].decide("share", request)
        if regorus.reasons and regorus.reasons[0].startswith("policy engine error"):
            differ.append((request["subject_id"], "regorus", regorus.reasons[0]))
        for name, other in (
            ("regopy", embedded_engines["regopy"].decide("share", request)),
            ("opa", opa_engine.decide("share", request)),
        ):
            if other != regorus:
                differ.append((request["subject_id"], name, other.model_dump_json()))
    assert differ == []


def test_the_corpus_reaches_every_outcome(embedded_engines):
    decisions = [embedded_engines["regorus"].decide("share", r) for r in CORPUS]
    codes = {w.code for d in decisions for w in d.withheld}
    assert codes == {
        "unknown_category",
        "action_not_permitted",
        "not_in_agreement",
        "consent_not_valid",
        "special_category_needs_explicit_consent",
        "no_consent",
    }
    assert sum(d.allow for d in decisions) >= 20
    assert any(w.held for d in decisions for w in d.withheld)
    assert (
        any(not w.held and w.code == "no_consent" for d in decisions for w in d.withheld) is False
    )
    assert any("flag_emergency" in d.obligations for d in decisions)
    assert any(d.withheld_fields for d in decisions)


def test_every_engine_agrees_on_the_generated_act_corpus(embedded_engines, opa_engine):
    differ = []
    for n, request in enumerate(ACT_CORPUS):
        regorus = embedded_engines["regorus"].decide("act", request)
        if regorus.reasons and regorus.reasons[0].startswith("policy engine error"):
            differ.append((n, "regorus", regorus.reasons[0]))
        for name, other in (
            ("regopy", embedded_engines["regopy"].decide("act", request)),
            ("opa", opa_engine.decide("act", request)),
        ):
            if other != regorus:
                differ.append((n, name, other.model_dump_json()))
    assert differ == []


def test_the_act_corpus_reaches_every_outcome(embedded_engines):
    decisions = [embedded_engines["regorus"].decide("act", r) for r in ACT_CORPUS]
    allowed = [d for d in decisions if d.allow]
    assert len(allowed) >= 20
    assert any("receive_contact_details" in d.obligations for d in allowed)
    assert any("flag_emergency" in d.obligations for d in allowed)
    reasons = " | ".join(r for d in decisions for r in d.reasons)
    for phrase in (
        "incomplete or malformed",
        "no agreement covers",
        "has not consented to",
        "special category data",
        "emergency path refused",
        "contact details may not be opened: no agreement",
        "contact details may not be opened: the customer has not consented",
    ):
        assert phrase in reasons

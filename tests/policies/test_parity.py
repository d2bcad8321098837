"""Both engines give identical decisions on every policy case (DESIGN: "Policy").

The OPA side runs against tests/policies/opa_contract_server.py: a real HTTP
server on loopback implementing OPA's Data API (a contract test; no OPA binary
can be installed here).
"""

import pytest

from node.policy.cases import load_cases
from node.policy.engine import PACKAGES

ALL_CASES = [case for package in PACKAGES for case in load_cases(package)]


@pytest.mark.parametrize("case", ALL_CASES, ids=[f"{c.package}: {c.name}" for c in ALL_CASES])
def test_embedded_and_opa_engines_agree(embedded_engine, opa_engine, case):
    embedded = embedded_engine.decide(case.package, case.input)
    served = opa_engine.decide(case.package, case.input)
    assert served == embedded
    assert not any(r.startswith("policy engine error") for r in served.reasons)

"""Policy enforcement for a node: ask ``joinedup.share``/``act``/``audit`` before acting.

Build an engine once per app with ``build_policy_engine(...)`` and call
``engine.decide(package, input)``; see ``node.policy.engine`` for the contract.
"""

from node.policy.engine import (
    PACKAGES,
    PolicyDecision,
    PolicyEngine,
    PolicyEngineError,
    WithheldCategory,
    build_policy_engine,
)

__all__ = [
    "PACKAGES",
    "PolicyDecision",
    "PolicyEngine",
    "PolicyEngineError",
    "WithheldCategory",
    "build_policy_engine",
]

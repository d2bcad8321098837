"""The Rego policies, their data and the taxonomy, shipped inside the joinedup wheel.

This file exists only so ``importlib.resources`` can find the directory once the
project is installed (``federation.policy_bundle.policy_dir``); the directory stays
at the top of the repository so OPA can still ``--watch policies/``.
"""

"""Joined-up views: ``POST /views`` asks every member for its section and merges them.

The router is thin; ``flows.request_joined_up_view`` is the workflow (consent token,
fan-out to every organisation including this node, assembly, audit); the view is
returned to the staff member and never stored.
"""

"""Referrals: one organisation asks another to act for a person (issue 14, docs/referrals.md).

``models`` (the ``referral`` and ``referral_event`` tables), ``states`` (the state
machine both ends enforce), ``data`` (urgencies, decline reasons and outcomes from
``policies/act/data.json``), ``service`` (send, transition, lists, history),
``receive`` (a partner's offer and status messages), ``outbox`` (the senders the
node's outbox worker uses), ``router`` (staff JSON API) and ``partner_router``
(the federation endpoints).
"""

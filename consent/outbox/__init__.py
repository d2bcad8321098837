"""The consent service's outbox: revocation and amendment pushes to every member node.

The generic part is ``appkit.outbox``; this package binds it to the consent
service: the ``consent_outbox_message`` and ``consent_delivery_receipt`` tables,
the ``revoke`` sender and the worker started in the lifespan.
"""

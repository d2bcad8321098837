"""The node's outbox: its tables, its senders and worker, the admin page's data.

The generic part (claiming, backoff, dead letters, receipts) is ``appkit.outbox``;
this package binds it to the node: the ``outbox_message`` and ``delivery_receipt``
tables, the emergency-notice sender, and the worker started in the lifespan.
"""

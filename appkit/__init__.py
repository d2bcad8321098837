"""Web plumbing shared by the two apps (the node and the consent service).

``federation/`` is the protocol library and stays free of web-app glue; ``node/``
and ``consent/`` never import each other. What both apps need from the web
framework lives here once, so a fix reaches both:

- ``appkit.problems``: RFC 9457 problem+json answers for every error, their
  OpenAPI documentation, and the bearer 401 (RFC 6750 §3).
- ``appkit.database``: the engine, the Alembic set-up and upgrade, and the body of
  each app's ``migrations/env.py``.
- ``appkit.database_errors``: database failures answer 409, 422 or 503 (a page for
  a browser), never 500.
- ``appkit.pages``: the HTML page kit (templates, ``render``, error pages, sign-in
  form and session cookie, CSRF-checked forms), with the layout and partials both
  apps' templates use in ``appkit/templates``; ``appkit.labels``: the words pages
  show for ids; ``appkit.csrf``: the double-submit CSRF guard.
- ``appkit.body_limit``: request bodies over the limit answer 413 problem+json.
- ``appkit.failsafe``: an exception no handler expected answers 500 problem+json and
  logs its type only, never a traceback (tracebacks carry values: personal data).
- ``appkit.logs``: JSON-lines logging, with tracebacks stripped on every handler.
- ``appkit.throttle``: the sign-in brake, per username and per client address,
  kept in the app's own database so it holds across worker processes.
- ``appkit.health``: ``/health/live`` and ``/health/ready`` (Kubernetes probes).
- ``appkit.site``: ``/`` to the service's own pages, ``/favicon.ico`` and the live
  character count (``/assets/charcount.js``) for fields with a length limit.
- ``appkit.sqltypes``: the UTC timestamp column type and clock both apps' tables use.
- ``appkit.outbox``: the durable transactional outbox (DESIGN "Running beyond one
  process") and the receiver's idempotency receipts.
- ``appkit.replay``: the replay cache of signed requests, in the app's database.
- ``appkit.migration``: those tables as Alembic operations; ``appkit.migrate``: the
  advisory lock that serialises migrations of one database.
- ``appkit.serve``: running an app in one process or N uvicorn workers.
- ``appkit.vocabulary``: the app's federation vocabulary, in force for its requests
  and lifespan, so request models validate against the app's taxonomy data.
"""

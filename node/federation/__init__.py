"""The node's membership of the federation: registry, replay cache and partner-request checks.

``state.federation_state`` is a lifespan hook that puts the signed member registry
(``app.state.registry``) and the replay cache (``app.state.replay_cache``) on the app;
``dependencies`` turns a partner's ``{"request": "<JWT>"}`` body into a
``VerifiedRequest`` or a 4xx problem. Partner-facing endpoints (share, link) build on
these, so every one of them refuses non-members, forgeries, replays and stale requests
the same way.
"""

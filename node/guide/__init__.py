"""The needs guide: this organisation's signed service catalogue and the federation's guide.

See docs/guide.md. ``service`` keeps the catalogue and publishes it; ``search``
stores verified catalogues and searches them (SQLite FTS5 / PostgreSQL tsvector);
``refresh`` fetches partners' catalogues (conditional GETs, verified, on a schedule
and on announce); ``flows`` dresses search results for staff; ``router`` is the
staff API, ``partner_router`` the federation endpoints.
"""

"""Shared fixtures: see tests/fixtures/ (db, auth, servers)."""

pytest_plugins: list[str] = ["tests.fixtures.db"]

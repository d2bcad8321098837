"""Packaged data files of the federation library (e.g. need-interaction rules)."""

"""The organisation's own records: persons, needs, actions and contacts."""

"""Revocation pushes from the consent service to every member node."""

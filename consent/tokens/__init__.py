"""Consent tokens for member nodes (``federation.consent_token`` signs and verifies them)."""

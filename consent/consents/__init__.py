"""Consent records (FHIR R4 Consent shape): grant, amend, revoke as appended events."""

"""Export a consent as an HL7 FHIR R4 ``Consent`` resource (hl7.org/fhir/R4/consent.html).

Mapping (R4 element ← joinedup field):

- ``status`` (required, ConsentState: draft | proposed | active | rejected |
  inactive | entered-in-error) ← status; a revoked consent is ``inactive``.
- ``scope`` (required) ← consentscope ``patient-privacy``; ``category`` (required,
  1..*) ← LOINC 59284-0 "Patient Consent".
- ``patient`` ← the subject: ``Patient/sub-<hex>`` plus the subject_id as identifier.
- ``dateTime`` ← created_at; ``performer`` ← the grantor: the patient themself, or a
  ``RelatedPerson`` named as advocate; ``organization`` ← the recording organisation.
- ``policyRule`` ← v3-ActCode ``OPTIN`` (ppc-1: policy or policyRule is required):
  the base provision denies and nested provisions permit.
- ``provision`` ← type ``deny`` with ``period``, and one nested ``permit`` per
  provision: ``actor`` (recipient organisations, role v3-ParticipationType ``IRCP``
  information recipient), ``action`` (the consentaction code the taxonomy gives the
  action, e.g. read→access, plus the joinedup code), ``purpose`` (the v3-ActReason
  code the taxonomy gives the purpose where one fits, else the joinedup purpose
  system) and ``class`` (joinedup data-category codes). The codings are data
  (``fhir`` in ``policies/taxonomy/data.json``), so a new term needs no code.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from consent.consents.models import Consent, ConsentProvision
from federation.vocabulary import Vocabulary, current_vocabulary

CODE_BASE = "https://joinedup.example/fhir/CodeSystem"
ORG_SYSTEM = "https://joinedup.example/fhir/org-id"
SUBJECT_SYSTEM = "https://joinedup.example/fhir/subject-id"
CONSENT_SCOPE = "http://terminology.hl7.org/CodeSystem/consentscope"
CONSENT_ACTION = "http://terminology.hl7.org/CodeSystem/consentaction"
ACT_CODE = "http://terminology.hl7.org/CodeSystem/v3-ActCode"
ACT_REASON = "http://terminology.hl7.org/CodeSystem/v3-ActReason"
PARTICIPATION = "http://terminology.hl7.org/CodeSystem/v3-ParticipationType"
LOINC = "http://loinc.org"


def fhir_id(joinedup_id: str) -> str:
    return joinedup_id.replace("_", "-")


def _instant(value: datetime) -> str:
    return value.isoformat(timespec="seconds")


def _purpose(code: str, vocabulary: Vocabulary) -> dict[str, str]:
    term = vocabulary.purposes.get(code)
    if term is not None and term.fhir is not None:
        return {"system": term.fhir.system, "code": term.fhir.code, "display": term.fhir.display}
    return {"system": f"{CODE_BASE}/purpose", "code": code}


def _action(code: str, vocabulary: Vocabulary) -> dict[str, Any]:
    term = vocabulary.actions.get(code)
    standard = (
        [{"system": term.fhir.system, "code": term.fhir.code}]
        if term is not None and term.fhir is not None
        else []
    )
    return {"coding": [*standard, {"system": f"{CODE_BASE}/action", "code": code}]}


def _permit(
    provision: ConsentProvision, org_names: dict[str, str], vocabulary: Vocabulary
) -> dict[str, Any]:
    return {
        "type": "permit",
        "actor": [
            {
                "role": {
                    "coding": [
                        {
                            "system": PARTICIPATION,
                            "code": "IRCP",
                            "display": "information recipient",
                        }
                    ]
                },
                "reference": {
                    "identifier": {"system": ORG_SYSTEM, "value": org},
                    "display": org_names.get(org, org),
                },
            }
            for org in provision.recipients
        ],
        "action": [_action(action, vocabulary) for action in provision.actions],
        "purpose": [_purpose(purpose, vocabulary) for purpose in provision.purposes],
        "class": [
            {"system": f"{CODE_BASE}/data-category", "code": category}
            for category in provision.categories
        ],
    }


def consent_to_fhir(
    consent: Consent,
    provisions: list[ConsentProvision],
    org_names: dict[str, str],
    vocabulary: Vocabulary | None = None,
) -> dict[str, Any]:
    """The FHIR R4 Consent JSON for ``consent`` in its current version."""
    vocabulary = vocabulary or current_vocabulary()
    # FHIR ids allow [A-Za-z0-9-.] only; joinedup ids are "<prefix>_<hex>", so swapping
    # the one underscore for a hyphen is reversible.
    reference = f"Patient/{fhir_id(consent.subject_id)}"
    patient: dict[str, Any] = {
        "reference": reference,
        "identifier": {"system": SUBJECT_SYSTEM, "value": consent.subject_id},
    }
    if consent.grantor_kind == "advocate":
        performer = {"type": "RelatedPerson", "display": consent.grantor_name or "advocate"}
    else:
        performer = {"reference": reference}
    period: dict[str, str] = {"start": _instant(consent.period_start)}
    if consent.period_end is not None:
        period["end"] = _instant(consent.period_end)
    resource: dict[str, Any] = {
        "resourceType": "Consent",
        "id": fhir_id(consent.id),
        "meta": {"versionId": str(consent.version), "lastUpdated": _instant(consent.updated_at)},
        "identifier": [{"system": "https://joinedup.example/fhir/consent-id", "value": consent.id}],
        "status": consent.status,
        "scope": {
            "coding": [
                {"system": CONSENT_SCOPE, "code": "patient-privacy", "display": "Privacy Consent"}
            ]
        },
        "category": [
            {"coding": [{"system": LOINC, "code": "59284-0", "display": "Patient Consent"}]}
        ],
        "patient": patient,
        "dateTime": _instant(consent.created_at),
        "performer": [performer],
        "policyRule": {"coding": [{"system": ACT_CODE, "code": "OPTIN", "display": "opt-in"}]},
        "provision": {
            "type": "deny",
            "period": period,
            "provision": [_permit(p, org_names, vocabulary) for p in provisions],
        },
    }
    if consent.recorded_by != "customer":
        resource["organization"] = [
            {
                "identifier": {"system": ORG_SYSTEM, "value": consent.recorded_by},
                "display": org_names.get(consent.recorded_by, consent.recorded_by),
            }
        ]
    return resource

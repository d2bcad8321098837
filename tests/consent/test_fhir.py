"""``GET /consents/{id}/fhir`` against the FHIR R4 Consent structure (hl7.org/fhir/R4/consent.html).

Checked by hand against R4's StructureDefinition: cardinality of the required
elements, the required value sets (ConsentState for ``status``, ConsentProvisionType
for ``provision.type``), the element types used (Coding, CodeableConcept, Reference,
Period, dateTime), the FHIR id syntax, and invariant ppc-1 (policy or policyRule).
"""

import re
import uuid

import pytest

from tests.consent.conftest import bearer, provision

CONSENT_STATE = {"draft", "proposed", "active", "rejected", "inactive", "entered-in-error"}
PROVISION_TYPE = {"deny", "permit"}
FHIR_ID = re.compile(r"^[A-Za-z0-9\-.]{1,64}$")
DATE_TIME = re.compile(
    r"^([0-9]{4})(-(0[1-9]|1[0-2])(-(0[1-9]|[12][0-9]|3[01])"
    r"(T([01][0-9]|2[0-3]):[0-5][0-9]:([0-5][0-9]|60)(\.[0-9]+)?(Z|[+-]((0[0-9]|1[0-3]):[0-5][0-9]|14:00)))?)?)?$"
)
CONSENT_ELEMENTS = {
    "resourceType",
    "id",
    "meta",
    "implicitRules",
    "language",
    "text",
    "contained",
    "extension",
    "modifierExtension",
    "identifier",
    "status",
    "scope",
    "category",
    "patient",
    "dateTime",
    "performer",
    "organization",
    "sourceAttachment",
    "sourceReference",
    "policy",
    "policyRule",
    "verification",
    "provision",
}
PROVISION_ELEMENTS = {
    "id",
    "extension",
    "modifierExtension",
    "type",
    "period",
    "actor",
    "action",
    "securityLabel",
    "purpose",
    "class",
    "code",
    "dataPeriod",
    "data",
    "provision",
}


def _coding(value):
    assert isinstance(value, dict)
    assert set(value) <= {"system", "version", "code", "display", "userSelected"}
    assert isinstance(value["system"], str)
    assert value["system"].startswith("http")
    assert isinstance(value["code"], str)
    assert value["code"]


def _concept(value):
    assert isinstance(value, dict)
    assert set(value) <= {"coding", "text"}
    for coding in value["coding"]:
        _coding(coding)


def _reference(value):
    assert isinstance(value, dict)
    assert set(value) <= {"reference", "type", "identifier", "display"}
    assert value  # a Reference must say something


def _period(value):
    assert set(value) <= {"start", "end"}
    for key in value:
        assert DATE_TIME.match(value[key]), value[key]
    if "start" in value and "end" in value:
        assert value["start"] < value["end"]


def _provision(value, nested):
    assert set(value) <= PROVISION_ELEMENTS
    assert value["type"] in PROVISION_TYPE
    if "period" in value:
        _period(value["period"])
    for actor in value.get("actor", []):
        assert set(actor) == {"role", "reference"}  # both 1..1 in R4
        _concept(actor["role"])
        _reference(actor["reference"])
    for action in value.get("action", []):
        _concept(action)
    for purpose in value.get("purpose", []):
        _coding(purpose)
    for data_class in value.get("class", []):
        _coding(data_class)
    for code in value.get("code", []):
        _concept(code)
    for child in value.get("provision", []):
        assert nested, "test expects one level of nesting"
        _provision(child, nested=False)


def assert_r4_consent(resource):
    assert set(resource) <= CONSENT_ELEMENTS
    assert resource["resourceType"] == "Consent"
    assert FHIR_ID.match(resource["id"])
    assert resource["status"] in CONSENT_STATE
    _concept(resource["scope"])
    assert len(resource["category"]) >= 1
    for category in resource["category"]:
        _concept(category)
    _reference(resource["patient"])
    assert DATE_TIME.match(resource["dateTime"])
    for performer in resource.get("performer", []):
        _reference(performer)
    for organization in resource.get("organization", []):
        _reference(organization)
    assert resource.get("policy") or resource.get("policyRule")  # ppc-1
    if resource.get("policyRule"):
        _concept(resource["policyRule"])
    scope_codes = {c["code"] for c in resource["scope"]["coding"]}
    if "patient-privacy" in scope_codes:
        assert "patient" in resource  # ppc-2
    _provision(resource["provision"], nested=True)


FHIR_FAMILY: dict[str, str] = {}


@pytest.fixture(scope="module")
def customer(world):
    family = f"Fhir{uuid.uuid4().hex[:8]}"
    subject = world.enrol(family)
    FHIR_FAMILY[subject] = family
    return subject, world.customer(subject, "fhir.customer")


def test_fhir_export_is_an_r4_consent(world, customer):
    subject, token = customer
    body = {
        "period_end": "2099-01-01T00:00:00Z",
        "provisions": [
            provision(
                recipients=["council", "gp"],
                categories=["housing", "mental_health"],
                actions=["read", "refer"],
                purposes=["care_coordination", "safeguarding"],
            )
        ],
    }
    consent = world.client.post("/me/consents", json=body, headers=bearer(token)).json()
    response = world.client.get(f"/consents/{consent['id']}/fhir", headers=bearer(token))
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/fhir+json")
    resource = response.json()
    assert_r4_consent(resource)
    assert resource["status"] == "active"
    assert resource["patient"]["identifier"]["value"] == subject
    assert resource["provision"]["type"] == "deny"
    assert resource["provision"]["period"]["end"].startswith("2099-01-01")
    (permit,) = resource["provision"]["provision"]
    assert permit["type"] == "permit"
    assert [a["reference"]["identifier"]["value"] for a in permit["actor"]] == ["council", "gp"]
    assert {a["role"]["coding"][0]["code"] for a in permit["actor"]} == {"IRCP"}
    assert [c["code"] for c in permit["class"]] == ["housing", "mental_health"]
    assert {"access", "disclose"} <= {c["code"] for a in permit["action"] for c in a["coding"]}
    assert len(permit["purpose"]) == 2


def test_fhir_export_of_a_revoked_advocate_consent(world, customer):
    _, token = customer
    body = {"grantor_kind": "advocate", "grantor_name": "Pat Advocate", "provisions": [provision()]}
    consent = world.client.post("/me/consents", json=body, headers=bearer(token)).json()
    world.client.post(f"/me/consents/{consent['id']}/revoke", headers=bearer(token))
    resource = world.client.get(f"/consents/{consent['id']}/fhir", headers=bearer(token)).json()
    assert_r4_consent(resource)
    assert resource["status"] == "inactive"
    assert resource["performer"] == [{"type": "RelatedPerson", "display": "Pat Advocate"}]


def test_fhir_export_of_a_member_recorded_consent_names_the_organisation(world, customer):
    subject, token = customer
    # The GP enrols the same person (same linkage tokens, same subject) first.
    assert world.enrol(FHIR_FAMILY[subject], issuer="gp") == subject
    body = {"subject_id": subject, "provisions": [provision()]}
    consent = world.signed("/federation/grants", "grant", body, "gp").json()
    resource = world.client.get(f"/consents/{consent['id']}/fhir", headers=bearer(token)).json()
    assert_r4_consent(resource)
    assert resource["organization"][0]["identifier"]["value"] == "gp"


def test_fhir_export_of_an_unknown_consent_is_404(world, customer):
    _, token = customer
    response = world.client.get("/consents/cns_nothing/fhir", headers=bearer(token))
    assert response.status_code == 404

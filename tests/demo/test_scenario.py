"""The demo scenario is consistent data: every reference resolves, every value is valid.

Checked without starting anything, so a typo in scenario.yaml fails here in
milliseconds instead of half-way through a seed.
"""

from __future__ import annotations

import datetime as dt

from federation.vocabulary import load_vocabulary
from joinedup.demo.scenario import load_scenario

SCENARIO = load_scenario()
VOCABULARY = load_vocabulary()


def test_records_use_known_people_organisations_and_categories() -> None:
    org_ids = {o.org_id for o in SCENARIO.organisations}
    assert set(SCENARIO.records) <= org_ids
    for records in SCENARIO.records.values():
        for record in records:
            assert record.person in SCENARIO.people
            for need in record.needs:
                assert need.category in VOCABULARY.categories, need.category


def test_local_references_are_unique_per_organisation() -> None:
    for records in SCENARIO.records.values():
        refs = [r.local_ref for r in records]
        assert len(refs) == len(set(refs))


def test_staff_roles_exist_and_include_coordinator_and_auditor() -> None:
    roles = {s.role for s in SCENARIO.staff}
    assert roles <= set(VOCABULARY.roles)
    assert {"coordinator", "auditor"} <= roles


def test_consents_name_members_and_the_shared_vocabulary() -> None:
    org_ids = {o.org_id for o in SCENARIO.organisations}
    enrolled = {e.person for e in SCENARIO.enrolments}
    provisions = [p for c in SCENARIO.consents for p in c.provisions] + [SCENARIO.tour.grant]
    for consent in SCENARIO.consents:
        assert consent.person in enrolled
    for provision in provisions:
        assert set(provision.recipients) <= org_ids
        assert set(provision.purposes) <= set(VOCABULARY.purposes)
        assert set(provision.categories) <= set(VOCABULARY.categories)
        assert set(provision.actions) <= set(VOCABULARY.actions)
    assert {c.person for c in SCENARIO.customers} <= enrolled


def test_the_main_person_has_needs_at_every_organisation() -> None:
    person = SCENARIO.tour.view_as.person
    for org in SCENARIO.organisations:
        records = [r for r in SCENARIO.records[org.org_id] if r.person == person]
        assert records, org.org_id
        assert records[0].needs, org.org_id


def test_identifiers_are_obviously_synthetic() -> None:
    for person in SCENARIO.people.values():
        assert person.postcode is None or person.postcode.startswith("ZZ99")
        assert person.national_number is None or person.national_number.startswith("999")
        assert person.date_of_birth < dt.date.today()

"""assemble_view: merging, trust rules, co-ordinator, withheld sections, interactions."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from federation.fanout import SourceResult
from federation.view import ConsentState, assemble_view, load_interactions
from federation.vocabulary import load_vocabulary

RULES = load_interactions()


def need(org, n, category, *, severity="medium", status="open"):
    return {
        "ref": f"{org}:need:{n}",
        "category": category,
        "description": f"{category} need {n}",
        "severity": severity,
        "status": status,
        "since": "2026-10-01",
    }


def action(org, n, category, *, status="active", due="2026-12-01"):
    return {
        "ref": f"{org}:action:{n}",
        "category": category,
        "what": f"act on {category}",
        "owner": "A Worker",
        "status": status,
        "due": due,
    }


def contact(role, org="Org"):
    return {
        "worker_name": "Sam Jones",
        "role": role,
        "how_to_reach": "01234 567",
        "organisation": org,
    }


def source(
    org,
    status="ok",
    *,
    released=(),
    needs=(),
    actions=(),
    contacts=(),
    coordinator=None,
    withheld=(),
    obligations=(),
    reason=None,
    known=True,
):
    body = None
    if status in ("ok", "denied"):
        body = {
            "org_id": org,
            "org_name": org.title(),
            "org_kind": "council",
            "subject_id": "sub_1",
            "known": known,
            "decision": {
                "allow": status == "ok",
                "categories": list(released),
                "withheld": list(withheld),
                "obligations": list(obligations),
                "reasons": ["because"],
            },
            "needs": list(needs),
            "actions": list(actions),
            "contacts": list(contacts),
            "coordinator": coordinator,
        }
    return SourceResult(
        org_id=org,
        org_name=org.title(),
        org_kind="council",
        status=status,
        latency_ms=12.5,
        reason=reason,
        body=body,
    )


def view(*results, **kwargs):
    return assemble_view(
        subject_id="sub_1",
        purpose="care_coordination",
        view_id="view_1",
        results=list(results),
        interactions=RULES,
        **kwargs,
    )


def test_needs_are_grouped_by_category_across_organisations_and_tagged_with_their_source():
    result = view(
        source(
            "gp",
            released=["physical_health", "mental_health"],
            needs=[
                need("gp", 1, "mental_health"),
                need("gp", 2, "physical_health", severity="low"),
            ],
        ),
        source(
            "council",
            released=["housing", "physical_health"],
            needs=[
                need("council", 1, "physical_health", severity="critical"),
                need("council", 2, "housing"),
            ],
        ),
    )
    assert [g.category for g in result.needs] == ["housing", "physical_health", "mental_health"]
    physical = result.needs[1].needs
    assert [(n.ref, n.org_id, n.org_name) for n in physical] == [
        ("council:need:1", "council", "Council"),  # critical before low
        ("gp:need:2", "gp", "Gp"),
    ]
    assert result.complete is True
    assert result.view_id == "view_1"
    assert result.generated_at.tzinfo is not None


def test_only_ok_sources_contribute_records_and_denied_ones_only_what_they_reveal():
    result = view(
        source("gp", released=["physical_health"], needs=[need("gp", 1, "physical_health")]),
        source(
            "police",
            "denied",
            withheld=[{"category": "safety", "reason": "no consent for safety", "held": True}],
        ),
        source("school", "unavailable", reason="no answer within the deadline"),
        source("charity", "error", reason="invalid response"),
    )
    assert [n.org_id for g in result.needs for n in g.needs] == ["gp"]
    assert [(w.category, w.org_id, w.reason) for w in result.withheld] == [
        ("safety", "police", "no consent for safety")
    ]
    assert [(s.org_id, s.status, s.reason) for s in result.sources] == [
        ("gp", "ok", None),
        ("police", "denied", None),
        ("school", "unavailable", "no answer within the deadline"),
        ("charity", "error", "invalid response"),
    ]
    assert result.complete is False


def test_a_denied_source_with_records_in_its_body_still_shows_none():
    denied = source(
        "police",
        "denied",
        needs=[need("police", 1, "safety")],
        contacts=[contact("Care co-ordinator")],
    )
    result = view(denied)
    assert result.needs == []
    assert result.contacts == []
    assert result.coordinator is None


def test_items_outside_the_partners_own_released_categories_are_dropped():
    result = view(
        source(
            "gp",
            released=["physical_health"],
            needs=[need("gp", 1, "physical_health"), need("gp", 2, "mental_health")],
            actions=[action("gp", 1, "mental_health")],
        ),
    )
    assert [n.ref for g in result.needs for n in g.needs] == ["gp:need:1"]
    assert result.actions == []


def test_a_malformed_answer_is_rejected_whole():
    bad_need = {"ref": "gp:need:9", "category": "physical_health"}  # no description etc.
    result = view(
        source(
            "gp",
            released=["physical_health"],
            needs=[need("gp", 1, "physical_health"), bad_need],
            contacts=[contact("GP")],
        ),
        source("council", released=["housing"], needs=[need("council", 1, "housing")]),
    )
    assert [n.org_id for g in result.needs for n in g.needs] == ["council"]
    assert result.contacts == []
    gp = next(s for s in result.sources if s.org_id == "gp")
    assert (gp.status, gp.reason) == ("error", "invalid response")


@pytest.mark.parametrize(
    "broken", [{"needs": "not a list"}, {"contacts": [1, 2]}, {"coordinator": "x"}]
)
def test_sections_of_the_wrong_shape_are_rejected(broken):
    result_source = source("gp", released=["housing"], needs=[need("gp", 1, "housing")])
    result_source.body.update(broken)
    result = view(result_source)
    assert result.needs == []
    assert result.sources[0].status == "error"


def test_only_proposed_or_active_actions_are_shown():
    result = view(
        source(
            "council",
            released=["housing"],
            actions=[
                action("council", 1, "housing", status="done"),
                action("council", 2, "housing", status="active", due=None),
                action("council", 3, "housing", status="cancelled"),
                action("council", 4, "housing", status="proposed", due="2026-11-30"),
            ],
        ),
    )
    assert [a.ref for a in result.actions] == ["council:action:4", "council:action:2"]


HOUSING = {"released": ["housing"], "needs": [need("council", 1, "housing")]}


def test_the_coordinator_field_wins_over_a_contact_role():
    result = view(
        source("council", **HOUSING, contacts=[contact("Care co-ordinator", "Council")]),
        source(
            "charity",
            released=["victim_support"],
            needs=[need("charity", 1, "victim_support")],
            coordinator=contact("Lead worker", "Charity"),
        ),
    )
    assert result.coordinator is not None
    assert (result.coordinator.org_id, result.coordinator.role) == ("charity", "Lead worker")
    assert len(result.contacts) == 1


@pytest.mark.parametrize("role", ["Care co-ordinator", "Family Coordinator", "Co ordinator"])
def test_a_contact_whose_role_names_coordinator_is_the_coordinator(role):
    result = view(
        source("council", **HOUSING, contacts=[contact("Housing officer"), contact(role)])
    )
    assert result.coordinator is not None
    assert result.coordinator.role == role


def test_no_coordinator_when_none_is_named():
    result = view(source("council", **HOUSING, contacts=[contact("Housing officer")]))
    assert result.coordinator is None


def test_the_coordinator_is_not_listed_again_among_the_contacts():
    coordinator = {**contact("Care co-ordinator", "Council"), "worker_name": "Nia P"}
    officer = contact("Housing officer", "Council")
    result = view(source("council", **HOUSING, contacts=[coordinator, officer, dict(officer)]))
    assert result.coordinator is not None
    assert result.coordinator.worker_name == "Nia P"
    assert [(c.worker_name, c.role) for c in result.contacts] == [("Sam Jones", "Housing officer")]


def test_an_organisation_that_released_no_need_names_no_contact():
    # The school released contact details only (its education record was withheld):
    # naming its safeguarding lead would reveal the children's school.
    result = view(
        source("council", **HOUSING, contacts=[contact("Care co-ordinator", "Council")]),
        source(
            "school",
            released=["contact_details"],
            contacts=[contact("Designated safeguarding lead", "School")],
            withheld=[{"category": "education", "reason": "no consent", "held": True}],
        ),
    )
    assert result.coordinator is not None
    assert result.coordinator.org_id == "council"
    assert result.contacts == []
    assert [(w.org_id, w.category) for w in result.withheld] == [("school", "education")]


def test_withheld_held_records_are_apart_from_what_no_agreement_covers():
    result = view(
        source(
            "police",
            "denied",
            withheld=[
                {"category": "housing", "reason": "no agreement", "held": False},
                {"category": "income", "reason": "no agreement", "held": False},
            ],
        ),
        source(
            "school",
            "denied",
            withheld=[
                {"category": "education", "reason": "no consent", "held": True},
                {"category": "safety", "reason": "no agreement", "held": False},
            ],
        ),
    )
    assert [(w.org_id, w.category) for w in result.withheld] == [("school", "education")]
    assert [(n.org_id, n.categories) for n in result.not_covered] == [
        ("police", ["housing", "income"]),
        ("school", ["safety"]),
    ]


def test_a_withheld_notice_that_does_not_say_held_is_not_shown_as_held():
    # A partner that does not say it holds the category is never shown as holding it.
    result = view(source("gp", "denied", withheld=[{"category": "mental_health", "reason": "x"}]))
    assert result.withheld == []
    assert [n.categories for n in result.not_covered] == [["mental_health"]]


def test_needs_that_interact_are_highlighted_with_a_note():
    result = view(
        source("council", released=["housing"], needs=[need("council", 1, "housing")]),
        source("police", released=["safety"], needs=[need("police", 1, "safety")]),
        source(
            "school",
            released=["education"],
            needs=[need("school", 1, "education", status="closed")],
        ),
    )
    assert [i.rule_id for i in result.interacting_needs] == ["housing_safety"]
    found = result.interacting_needs[0]
    assert found.need_refs == ["council:need:1", "police:need:1"]
    assert found.organisations == ["council", "police"]
    assert "secret" in found.note  # a closed education need does not interact


def test_obligations_are_collected_once_per_organisation():
    result = view(
        source(
            "gp", released=["physical_health"], obligations=["flag_emergency", "flag_emergency"]
        ),
        source("police", "denied", obligations=["notify_customer"]),
    )
    assert [(o.obligation, o.org_id) for o in result.obligations] == [
        ("flag_emergency", "gp"),
        ("notify_customer", "police"),
    ]


def test_consent_emergency_and_clock_are_carried_through():
    now = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
    consent = ConsentState(status="unavailable", reason="consent service unreachable")
    result = view(source("gp", released=[]), consent=consent, emergency=True, now=now)
    assert result.generated_at == now
    assert result.consent == consent
    assert result.emergency is True


def test_the_view_never_carries_the_partners_raw_answers():
    result = view(source("gp", released=["housing"], needs=[need("gp", 1, "housing")]))
    dumped = result.model_dump_json()
    assert '"decision"' not in dumped
    assert "body" not in json.loads(dumped)["sources"][0]


def test_packaged_rules_use_only_federation_categories_and_cover_the_agreed_pairs():
    pairs = {frozenset(rule.categories) for rule in RULES}
    for rule in RULES:
        assert set(rule.categories) <= set(load_vocabulary().categories), rule.id
        assert rule.note.strip()
    for expected in [
        ("housing", "safety"),
        ("mental_health", "safety"),
        ("education", "housing"),
        ("income", "housing"),
        ("social_care", "physical_health"),
        ("victim_support", "mental_health"),
        ("victim_support", "criminal_justice"),
    ]:
        assert frozenset(expected) in pairs
    assert len({rule.id for rule in RULES}) == len(RULES)


def test_rules_can_be_loaded_from_another_file(tmp_path):
    path = tmp_path / "rules.json"
    path.write_text(
        json.dumps(
            {
                "interactions": [
                    {
                        "id": "x",
                        "categories": ["income", "education", "housing"],
                        "note": "all three",
                    }
                ]
            }
        )
    )
    rules = load_interactions(path)
    result = assemble_view(
        subject_id="sub_1",
        purpose="care_coordination",
        view_id="v",
        interactions=rules,
        results=[
            source(
                "council",
                released=["income", "education", "housing"],
                needs=[
                    need("council", 1, "income"),
                    need("council", 2, "education"),
                    need("council", 3, "housing"),
                ],
            )
        ],
    )
    assert [i.rule_id for i in result.interacting_needs] == ["x"]


def test_fields_the_holder_withheld_are_named_on_the_need():
    redacted = {
        **need("gp", 1, "mental_health"),
        "description": "",
        "withheld_fields": ["clinical_notes"],
    }
    result = view(source("gp", released=["mental_health"], needs=[redacted]))
    shown = result.needs[0].needs[0]
    assert shown.description == ""
    assert shown.withheld_fields == ["clinical_notes"]


def referral(
    rid, from_org, to_org, category, *, state="accepted", updated="2026-11-02T10:00:00+00:00"
):
    return {
        "referral_id": rid,
        "from_org": from_org,
        "to_org": to_org,
        "category": category,
        "state": state,
        "urgency": "urgent",
        "sent_at": "2026-11-01T09:00:00+00:00",
        "updated_at": updated,
    }


def with_referrals(result, referrals):
    assert result.body is not None
    result.body["referrals"] = referrals
    return result


def test_open_referrals_travel_only_in_released_categories():
    result = view(
        with_referrals(
            source("council", released=["housing"]),
            [
                referral("r1", "council", "refuge", "housing"),
                referral("r2", "council", "refuge", "mental_health"),  # not released
            ],
        ),
        with_referrals(source("gp", "denied"), [referral("r3", "gp", "council", "housing")]),
    )
    assert [r.referral_id for r in result.referrals] == ["r1"]
    assert result.referrals[0].org_name == "Council"


def test_a_holder_reports_only_referrals_it_is_a_party_to():
    result = view(
        with_referrals(
            source("council", released=["housing"]),
            [referral("r1", "police", "refuge", "housing")],
        )
    )
    assert result.referrals == []


def test_a_referral_both_ends_report_is_shown_once_as_the_latest_end_tells_it():
    result = view(
        with_referrals(
            source("council", released=["housing"]),
            [referral("r1", "council", "refuge", "housing", state="received")],
        ),
        with_referrals(
            source("refuge", released=["housing"]),
            [referral("r1", "council", "refuge", "housing", updated="2026-11-03T08:00:00+00:00")],
        ),
    )
    assert [(r.referral_id, r.state, r.org_id) for r in result.referrals] == [
        ("r1", "accepted", "refuge")
    ]

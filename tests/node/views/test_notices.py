"""The emergency notice a requesting node sends: what each holder released, contacts included."""

from __future__ import annotations

from datetime import UTC, datetime

from federation.view import (
    JoinedUpView,
    NeedGroup,
    RaisedObligation,
    ViewAction,
    ViewContact,
    ViewNeed,
)
from node.views.notices import emergency_notice


def _need(org: str, category: str) -> ViewNeed:
    return ViewNeed(
        ref=f"{org}-{category}",
        category=category,
        description="-",
        severity="high",
        status="open",
        org_id=org,
        org_name=org.title(),
    )


def _view(*, notify: list[str]) -> JoinedUpView:
    return JoinedUpView(
        view_id="view_notice_1",
        subject_id="sub_notice_1",
        purpose="safeguarding",
        generated_at=datetime(2026, 11, 23, 19, 52, tzinfo=UTC),
        emergency=True,
        complete=True,
        needs=[
            NeedGroup(category="safety", needs=[_need("police", "safety")]),
            NeedGroup(category="physical_health", needs=[_need("gp", "physical_health")]),
            NeedGroup(category="housing", needs=[_need("council", "housing")]),
        ],
        actions=[
            ViewAction(
                ref="a1",
                category="housing",
                what="-",
                owner="-",
                status="active",
                org_id="council",
                org_name="Council",
            )
        ],
        contacts=[
            ViewContact(
                worker_name="Dr Lee",
                role="GP",
                how_to_reach="01234 567890",
                organisation="Gp",
                org_id="gp",
            )
        ],
        coordinator=None,
        interacting_needs=[],
        withheld=[],
        obligations=[RaisedObligation(obligation="notify_customer", org_id=o) for o in notify],
        sources=[],
    )


def test_the_notice_says_what_each_notifying_holder_released_contacts_included() -> None:
    notice = emergency_notice(_view(notify=["gp", "police"]), "safeguarding")
    assert notice is not None
    assert notice["holders"] == ["gp", "police"]
    # The GP's released contacts are its contact details: the customer must be told.
    assert notice["released"] == {
        "gp": ["contact_details", "physical_health"],
        "police": ["safety"],
    }
    assert notice["categories"] == ["contact_details", "physical_health", "safety"]


def test_no_holder_asking_for_notice_means_no_notice() -> None:
    assert emergency_notice(_view(notify=[]), "safeguarding") is None

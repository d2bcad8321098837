"""The emergency notice a requesting node sends: what each holder released, contacts included."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import httpx

from appkit.outbox import ClaimedMessage, DeliveryResult, Outcome
from federation.jose import read_unverified_claims
from federation.keys import MemberKeys
from federation.registry import new_document, sign_registry, verify_registry
from federation.view import (
    JoinedUpView,
    NeedGroup,
    RaisedObligation,
    ViewAction,
    ViewContact,
    ViewNeed,
)
from federation.wire.notice import NoticeCreate
from node.views.notices import CUSTOMER_NOTICE, emergency_notice, send_notice
from tests.federation.conftest import member_for


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


async def test_the_notice_travels_as_the_wire_message_and_a_malformed_one_is_not_sent() -> None:
    """What is queued is the model's body; a payload that no longer fits goes to dead letters."""
    authority, council = MemberKeys.generate(), MemberKeys.generate()
    members = [
        member_for("council", "council", council),
        member_for("consent", "consent_service", MemberKeys.generate()),
    ]
    registry = verify_registry(
        sign_registry(new_document("test", 1, members), authority.signing_key),
        authority.verify_key,
    )
    notice = emergency_notice(_view(notify=["gp"]), "safeguarding")
    assert notice is not None
    sent: list[dict] = []

    def consent_service(request: httpx.Request) -> httpx.Response:
        claims = read_unverified_claims(json.loads(request.content)["request"])
        sent.append(claims)
        return httpx.Response(201, json={})

    async with httpx.AsyncClient(transport=httpx.MockTransport(consent_service)) as client:

        async def send(payload: dict) -> DeliveryResult:
            message = ClaimedMessage(1, CUSTOMER_NOTICE, "consent", payload, "idk_1", 1)
            return await send_notice(
                message,
                client=client,
                registry=registry,
                keys=council,
                me="council",
                timeout_s=5,
            )

        delivered = await send({"notice": notice})
        refused = await send({"notice": {**notice, "holders": []}})
        # A subject id the consent service never issued: queued as is, never sent.
        stray = emergency_notice(_view(notify=["gp"]).model_copy(update={"subject_id": "0"}), "x")
        assert stray is not None
        assert stray["subject_id"] == "0"
        unsendable = await send({"notice": stray})
    assert delivered.outcome is Outcome.DELIVERED
    assert refused.outcome is Outcome.REFUSED
    assert unsendable.outcome is Outcome.REFUSED
    (claims,) = sent  # the malformed one was never signed nor sent
    assert claims["act"] == "notify_customer"
    assert claims["body"] == notice
    assert NoticeCreate.from_body(notice).body() == notice

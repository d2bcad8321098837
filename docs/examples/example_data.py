"""The example customer's records: what the story in docs/protocol.md grants and shares.

Built with the services' own schemas (``ConsentPublic``, ``SharedSection``), so a
field the code adds or renames shows up here, or fails here, when the examples are
regenerated.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, date, datetime
from typing import Any

from consent.consents.schemas import ConsentPublic
from federation.linkage import LinkageKey, linkage_tokens
from federation.share_schema import (
    SharedAction,
    SharedContact,
    ShareDecisionSummary,
    SharedNeed,
    SharedReferral,
    SharedSection,
    WithheldNotice,
)

SUBJECT = "sub_q3V9yT0b"
CONSENT_ID = "cns_5Jx2kQ"
VIEW_ID = "view_Yk2mF8"
STAFF = "stf_4e1f0c9a2b7d"


def consent_public(*, status: str, at: int, updated: int) -> dict[str, Any]:
    """The consent service's ``ConsentPublic`` answer for the example consent."""
    return ConsentPublic.model_validate(
        {
            "id": CONSENT_ID,
            "subject_id": SUBJECT,
            "status": status,
            "grantor_kind": "customer",
            "grantor_name": None,
            "recorded_by": "council",
            "period_start": datetime.fromtimestamp(at, UTC),
            "period_end": None,
            "version": 1,
            "created_at": datetime.fromtimestamp(at, UTC),
            "updated_at": datetime.fromtimestamp(updated, UTC),
            "provisions": [GRANTED_PROVISION],
        }
    ).model_dump(mode="json")


GRANTED_PROVISION = {
    "purposes": ["care_coordination"],
    "recipients": ["council"],
    "categories": ["physical_health", "contact_details"],
    "actions": ["read"],
}


def gp_section() -> dict[str, Any]:
    """What the GP releases to the council under the example consent (a SharedSection)."""
    return SharedSection(
        org_id="gp",
        org_name="Riverside GP",
        org_kind="gp",
        subject_id=SUBJECT,
        known=True,
        decision=ShareDecisionSummary(
            allow=True,
            categories=["contact_details", "physical_health"],
            withheld=[
                WithheldNotice(
                    category="mental_health",
                    reason="the person has not consented to your organisation seeing this "
                    "for this purpose",
                    held=True,
                )
            ],
            obligations=[],
            reasons=SHARE_REASONS,
        ),
        needs=[
            SharedNeed(
                ref="gp:need:12",
                category="physical_health",
                description="",
                severity="high",
                status="open",
                since="2026-10-01",
                withheld_fields=["clinical_notes"],
            )
        ],
        actions=[
            SharedAction(
                ref="gp:action:3",
                category="physical_health",
                what="Diabetes review",
                owner="Dr Patel",
                status="active",
                due="2026-12-01",
            )
        ],
        contacts=[
            SharedContact(
                worker_name="Dr Patel",
                role="GP",
                how_to_reach="Surgery, weekdays 8-6",
                organisation="Riverside GP",
            )
        ],
        referrals=[
            SharedReferral(
                referral_id="5f0c9b1e2d3a4c5b8e7f6a1b2c3d4e5f",
                from_org="council",
                to_org="gp",
                category="physical_health",
                state="accepted",
                urgency="urgent",
                sent_at="2026-11-20T09:15:00+00:00",
                updated_at="2026-11-20T14:02:00+00:00",
            )
        ],
    ).model_dump(mode="json")


SHARE_REASONS = [
    "contact_details: released with the customer's consent under a sharing agreement",
    "physical_health: released with the customer's consent under a sharing agreement",
]


def linkage_example() -> list[str]:
    """Grace's linkage tokens under the example federation's linkage key (version 1)."""
    return linkage_tokens(
        key=LinkageKey(1, hashlib.sha256(b"joinedup-example-linkage").digest()),
        family_name="Okafor",
        given_name="Grace",
        date_of_birth=date(1971, 3, 4),
        postcode="RV1 2AB",
        national_number="943 476 5919",
    )


def gp_audit_entry(kind: str, **fields: Any) -> dict[str, Any]:
    """The fields of one entry in the GP's log, as the GP's endpoints record them."""
    defaults: dict[str, Any] = {
        "actor_staff": None,
        "actor_role": None,
        "subject_id": SUBJECT,
        "purpose": None,
        "action": None,
        "decision": "info",
        "categories": [],
        "emergency": False,
        "holder_org": None,
    }
    return {**defaults, "kind": kind, **fields}


# What the GP's node writes for the story's link request, share and revocation push
# (node/links/service.py, node/share/service.py, node/revocations/service.py).
LINK_ENTRY = gp_audit_entry(
    "link",
    request_id="req_L1nk9x",
    actor_org="council",
    action="link",
    decision="allow",
    reason="linked: unique match",
    holder_org="gp",
)
SHARE_ENTRY = gp_audit_entry(
    "share_decided",
    request_id=VIEW_ID,
    actor_org="council",
    actor_staff=STAFF,
    actor_role="coordinator",
    purpose="care_coordination",
    action="read",
    decision="allow",
    categories=["contact_details", "physical_health"],
    reason="; ".join(SHARE_REASONS),
    holder_org="gp",
)
REVOCATION_ENTRY = gp_audit_entry(
    "revocation_received",
    request_id="req_R3v0k3",
    actor_org="consent",
    reason=f"consent {CONSENT_ID} revoked",
)

"""Open referrals travel in a share answer like actions do: released categories only.

Issue 14: the joined-up view lists open referrals about the person "subject to the
same share policy as actions". ``read_open_referrals`` is what the share answer
carries; run on SQLite and (when configured) PostgreSQL.
"""

from __future__ import annotations

import datetime as dt

from sqlmodel import Session

from node.policy import PolicyDecision
from node.referrals.models import Referral
from node.share.service import Holder, read_open_referrals

HOLDER = Holder(org_id="council-a", org_name="Council A", org_kind="council")
SENT = dt.datetime(2026, 11, 2, 9, 30, tzinfo=dt.UTC)


def add(session: Session, rid: str, **fields: object) -> None:
    values: dict[str, object] = {
        "id": rid.ljust(32, "0"),
        "direction": "outgoing",
        "partner_org": "refuge",
        "subject_id": "subj_morgan",
        "category": "housing",
        "purpose": "care_coordination",
        "urgency": "urgent",
        "reason": "Needs a safe place to stay",
        "person_told": "Told the refuge will call",
        "state": "accepted",
        "created_by": "asha",
        "created_at": SENT,
        "updated_at": SENT + dt.timedelta(hours=2),
        "respond_by": SENT + dt.timedelta(days=1),
    }
    values.update(fields)
    session.add(Referral(**values))
    session.flush()


def allowed(*categories: str) -> PolicyDecision:
    return PolicyDecision(allow=True, categories=list(categories))


def test_only_open_referrals_of_released_categories_about_the_subject_travel(
    db_session: Session,
) -> None:
    add(db_session, "a1")
    add(db_session, "a2", category="mental_health")  # not released
    add(db_session, "a3", state="completed")  # closed
    add(db_session, "a4", subject_id="subj_other")  # someone else
    add(db_session, "a5", direction="incoming", partner_org="gp", state="received")
    shared = read_open_referrals(
        session=db_session, subject_id="subj_morgan", holder=HOLDER, decision=allowed("housing")
    )
    assert sorted(r.referral_id[:2] for r in shared) == ["a1", "a5"]
    by_id = {r.referral_id[:2]: r for r in shared}
    assert (by_id["a1"].from_org, by_id["a1"].to_org) == ("council-a", "refuge")
    assert (by_id["a5"].from_org, by_id["a5"].to_org) == ("gp", "council-a")
    assert by_id["a1"].sent_at == SENT.isoformat()
    assert by_id["a1"].updated_at == (SENT + dt.timedelta(hours=2)).isoformat()
    # Nothing of the person or of what was asked travels: only who, what kind, which state.
    assert "Needs a safe place" not in by_id["a1"].model_dump_json()


def test_a_denied_share_carries_no_referrals(db_session: Session) -> None:
    add(db_session, "b1")
    denied = PolicyDecision(allow=False, categories=["housing"])
    for decision in (denied, allowed()):
        shared = read_open_referrals(
            session=db_session, subject_id="subj_morgan", holder=HOLDER, decision=decision
        )
        assert shared == []

"""Audit test helpers: node keys and a small signed log inside the test's transaction."""

from __future__ import annotations

import pytest
from sqlmodel import Session

from federation.keys import MemberKeys
from node.audit.models import AuditEntry
from node.audit.service import record_audit, sign_tree_head_now

ORG = "council-a"


@pytest.fixture(scope="session")
def node_keys() -> MemberKeys:
    return MemberKeys.generate()


def append_entries(session: Session, count: int, *, start: int = 0) -> list[AuditEntry]:
    """Append ``count`` varied entries (kinds, subjects, decisions) and return them."""
    kinds = ("view_requested", "share_decided", "consent_check", "login")
    entries = []
    for i in range(start, start + count):
        entries.append(
            record_audit(
                session=session,
                kind=kinds[i % len(kinds)],
                request_id=f"req-{i:06d}",
                actor_org="gp-b" if i % 3 else ORG,
                actor_staff=f"stf-{i % 5}",
                actor_role="frontline",
                subject_id=f"subj-{i % 4}",
                purpose="care_coordination",
                action="read",
                decision="deny" if i % 7 == 0 else "allow",
                categories=["housing", "health"] if i % 2 else [],
                reason=f"case {i}",
                emergency=i % 11 == 0,
                holder_org=ORG,
            )
        )
    return entries


@pytest.fixture
def signed_log(db_session: Session, node_keys: MemberKeys) -> Session:
    """Twelve entries with signed heads at sizes 5 and 12."""
    append_entries(db_session, 5)
    sign_tree_head_now(session=db_session, keys=node_keys, org_id=ORG)
    append_entries(db_session, 7, start=5)
    sign_tree_head_now(session=db_session, keys=node_keys, org_id=ORG)
    db_session.flush()
    return db_session

""" "Who is this?": an auditor resolves a staff pseudonym of their own organisation.

Entries name staff only by pseudonym (``node.auth.tokens.staff_pseudonym``: a keyed
hash of the staff id), so partners and exports never learn who did what. An auditor
reviewing this node's log sometimes must: the pseudonym is recomputed for each
account here, under the current signing key and every retired one (a pseudonym
from before a key rotation still resolves). Only this node's accounts can match;
a partner's pseudonym resolves to nobody, and its auditor must be asked. Every
lookup, found or not, is itself an audit entry naming the pseudonym asked about
and the auditor who asked, so resolving is reviewable like any other access.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlmodel import Session, select

from federation.keys import MemberKeys
from node.audit.service import record_audit
from node.auth.dependencies import StaffPrincipal
from node.auth.models import Staff
from node.auth.tokens import staff_pseudonym

__all__ = ["StaffIdentity", "resolve_staff_pseudonym"]

MAX_PSEUDONYM = 128


@dataclass(frozen=True)
class StaffIdentity:
    """The account behind a pseudonym, as an auditor may see it."""

    pseudonym: str
    display_name: str
    username: str
    role: str


def resolve_staff_pseudonym(
    *,
    session: Session,
    keys: Sequence[MemberKeys],
    org_id: str,
    auditor: StaffPrincipal,
    pseudonym: str,
    request_id: str,
) -> StaffIdentity | None:
    """The staff member behind ``pseudonym`` (None if not one of ours); audited either way."""
    found: StaffIdentity | None = None
    for account in session.exec(select(Staff)).all():
        if account.id is None:
            continue
        if any(staff_pseudonym(account.id, k) == pseudonym for k in keys):
            found = StaffIdentity(
                pseudonym=pseudonym,
                display_name=account.display_name or account.username,
                username=account.username,
                role=account.role,
            )
            break
    outcome = "matched a staff account" if found else "matched no staff account here"
    record_audit(
        session=session,
        kind="staff_lookup",
        request_id=request_id,
        actor_org=org_id,
        actor_staff=auditor.pseudonym,
        actor_role=auditor.role,
        action="resolve_pseudonym",
        decision="info",
        reason=f"looked up who staff pseudonym {pseudonym[:MAX_PSEUDONYM]} is: {outcome}",
    )
    return found

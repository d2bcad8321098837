"""Answering a partner's share request (DESIGN "Federation protocol", "Policy", "Audit").

The holder of the records decides, locally and for every request:

1. the request was already verified (``node.federation.dependencies``); its body must
   be a ``ShareRequestBody`` or the answer is 400 and nothing is released;
2. the consent token is checked offline against the consent service's registry keys
   and the revocations pushed so far (``federation.consent_token``); a bad token is
   not an error, it is "no consent" — the emergency path may still apply;
3. the ``joinedup.share`` policy decides which requested categories are released,
   which fields are withheld and which obligations apply; it is told which
   categories this node holds records in, so it says "held but not released" only
   where that is true;
4. only the released categories are read — needs of those categories, actions tied
   to those needs, open referrals about the person of those categories (issue 14:
   "subject to the same share policy as actions"), contacts only when
   ``contact_details`` is released — and withheld fields are redacted;
5. the decision, with the categories actually released (at least one item each),
   is appended to the audit log in the same transaction (no release without its
   audit entry, allow or deny);
6. the section is sealed to the requester's X25519 key (libsodium sealed box) and
   signed (RFC 7515 JWS) by ``federation.envelope.seal_response``.

A request whose signed ``deadline`` has passed (the requester gave up: this node
was frozen, overloaded or slow) releases nothing: checked before deciding and again
just before the audit append, it is audited as a refusal (``share_decided``,
``deny``, ``DEADLINE_PASSED_REASON``) instead of a release nobody received, and
answered 401 ``request-expired`` (``answer_share_request`` returns ``None``).

A policy denial is a normal, sealed answer with ``decision.allow`` false. References
to records are ``<org_id>:need:<row id>``: row ids, never person identifiers. One
query per table plus one audit append keeps this fast (the share endpoint's bar is
500 sealed answers per second on two cores).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session

from federation.consent_token import (
    ConsentTokenClaims,
    RevocationSet,
    consent_policy_input,
    verify_consent_token,
)
from federation.envelope import VerifiedRequest, seal_response
from federation.errors import BadRequest, ConsentInvalid
from federation.keys import MemberKeys
from federation.registry import CONSENT_SERVICE_ID, Registry
from federation.share_schema import (
    SHARE_ACTION,
    SharedAction,
    SharedContact,
    ShareDecisionSummary,
    SharedNeed,
    SharedReferral,
    SharedSection,
    ShareRequestBody,
    WithheldNotice,
)
from federation.wire import MalformedMessage
from node.audit.service import record_audit
from node.links.models import SubjectLink
from node.policy import PolicyDecision, PolicyEngine
from node.records.models import Action, Contact, Need
from node.referrals.models import Referral
from node.referrals.states import OPEN as OPEN_REFERRAL_STATES

CONTACT_CATEGORY = "contact_details"
DEADLINE_PASSED_REASON = "deadline passed: the requester had stopped waiting, nothing released"
# Taxonomy fields of ``contact_details`` that a contact's ``how_to_reach`` may hold.
_REACH_FIELDS = frozenset({"address", "phone", "email", "preferred_contact", "safe_contact_times"})


@dataclass(frozen=True)
class Holder:
    """This node, as it names itself in the sections it answers with."""

    org_id: str
    org_name: str
    org_kind: str


def parse_share_body(body: dict[str, Any]) -> ShareRequestBody:
    """The share parameters of a verified request; ``BadRequest`` if malformed."""
    try:
        return ShareRequestBody.from_body(body)
    except MalformedMessage as exc:
        raise BadRequest(f"share request body is malformed ({exc.message})") from None


def check_consent(
    *,
    token: str | None,
    registry: Registry,
    requester: str,
    subject_id: str,
    purpose: str,
    revocations: RevocationSet | None,
) -> ConsentTokenClaims | None:
    """The verified consent token, or None when there is none or it fails any check."""
    if token is None or not registry.has(CONSENT_SERVICE_ID):
        return None
    try:
        return verify_consent_token(
            token,
            verify_keys=registry.verify_keys(CONSENT_SERVICE_ID),
            requester=requester,
            subject_id=subject_id,
            purpose=purpose,
            revocations=revocations,
        )
    except ConsentInvalid:
        return None


def share_policy_input(
    *,
    body: ShareRequestBody,
    requester_org: str,
    requester_kind: str,
    holder: Holder,
    consent: ConsentTokenClaims | None,
    all_categories: Sequence[str],
    held_categories: Sequence[str] = (),
) -> dict[str, Any]:
    """The ``joinedup.share`` input (shape documented in ``policies/share/share.rego``)."""
    requested = sorted(set(body.categories)) if body.categories else sorted(all_categories)
    return {
        "requester": {
            "org_id": requester_org,
            "org_kind": requester_kind,
            "role": body.staff_role,
            "staff": body.staff_pseudonym,
        },
        "holder": {"org_id": holder.org_id, "org_kind": holder.org_kind},
        "purpose": body.purpose,
        "action": "read",
        "subject_id": body.subject_id,
        "requested_categories": requested,
        "consent": consent_policy_input(consent),
        "emergency": body.emergency.model_dump() if body.emergency else None,
        "held_categories": sorted(held_categories),
    }


def _summary(decision: PolicyDecision) -> ShareDecisionSummary:
    return ShareDecisionSummary(
        allow=decision.allow,
        categories=list(decision.categories) if decision.allow else [],
        withheld=[
            WithheldNotice(category=w.category, reason=w.reason, held=w.held)
            for w in decision.withheld
        ],
        obligations=list(decision.obligations),
        reasons=list(decision.reasons),
    )


# Prebuilt Core statements (compiled once, cached by SQLAlchemy): the share endpoint
# is the hot path, and ORM entity loading tripled the cost of these reads.
_need = Need.__table__  # type: ignore[attr-defined]
_action = Action.__table__  # type: ignore[attr-defined]
_contact = Contact.__table__  # type: ignore[attr-defined]
_link = SubjectLink.__table__  # type: ignore[attr-defined]
_referral = Referral.__table__  # type: ignore[attr-defined]
_LINKED_PERSON = sa.select(_link.c.person_id).where(_link.c.subject_id == sa.bindparam("sid"))
_NEEDS = (
    sa.select(
        _need.c.id,
        _need.c.category,
        _need.c.description,
        _need.c.severity,
        _need.c.status,
        _need.c.since,
    )
    .where(
        _need.c.person_id == sa.bindparam("pid"),
        _need.c.category.in_(sa.bindparam("cats", expanding=True)),
    )
    .order_by(_need.c.id)
)
_ACTIONS = (
    sa.select(
        _action.c.id,
        _action.c.need_id,
        _action.c.what,
        _action.c.owner,
        _action.c.status,
        _action.c.due,
    )
    .where(
        _action.c.person_id == sa.bindparam("pid"),
        _action.c.need_id.in_(sa.bindparam("need_ids", expanding=True)),
    )
    .order_by(_action.c.id)
)
# The categories this node holds at least one record of for a person: the policy
# says "held but not released" only for these (a contact row is contact details).
_HELD = sa.union(
    sa.select(_need.c.category).where(_need.c.person_id == sa.bindparam("pid")),
    sa.select(sa.literal_column(f"'{CONTACT_CATEGORY}'")).where(
        _contact.c.person_id == sa.bindparam("pid")
    ),
)
_CONTACTS = (
    sa.select(
        _contact.c.worker_name, _contact.c.role, _contact.c.how_to_reach, _contact.c.organisation
    )
    .where(_contact.c.person_id == sa.bindparam("pid"))
    .order_by(_contact.c.id)
)


_OPEN_REFERRALS = (
    sa.select(
        _referral.c.id,
        _referral.c.direction,
        _referral.c.partner_org,
        _referral.c.category,
        _referral.c.state,
        _referral.c.urgency,
        _referral.c.created_at,
        _referral.c.updated_at,
    )
    .where(
        _referral.c.subject_id == sa.bindparam("sid"),
        _referral.c.state.in_(sorted(OPEN_REFERRAL_STATES)),
        _referral.c.category.in_(sa.bindparam("cats", expanding=True)),
    )
    .order_by(_referral.c.created_at)
)


def linked_person_id(*, session: Session, subject_id: str) -> int | None:
    """The local person linked to ``subject_id``, if any."""
    row = session.connection().execute(_LINKED_PERSON, {"sid": subject_id}).first()
    return int(row[0]) if row is not None else None


def held_categories(*, session: Session, person_id: int | None) -> list[str]:
    """The categories this node holds records of for the person (none if unknown)."""
    if person_id is None:
        return []
    return sorted(str(row[0]) for row in session.connection().execute(_HELD, {"pid": person_id}))


def _iso(value: Any) -> str | None:
    return value.isoformat() if value is not None else None


def read_released_records(
    *, session: Session, person_id: int, holder: Holder, decision: PolicyDecision
) -> tuple[list[SharedNeed], list[SharedAction], list[SharedContact]]:
    """Needs, actions and contacts of the released categories only, redacted by policy."""
    released = set(decision.categories) if decision.allow else set()
    if not released:
        return [], [], []
    connection = session.connection()
    withheld_fields = decision.withheld_fields
    needs: list[SharedNeed] = []
    category_of: dict[int, str] = {}
    for need_id, category, description, severity, status, since in connection.execute(
        _NEEDS, {"pid": person_id, "cats": sorted(released)}
    ):
        category_of[need_id] = category
        hidden = withheld_fields.get(category, [])
        needs.append(
            SharedNeed(
                ref=f"{holder.org_id}:need:{need_id}",
                category=category,
                # The description is free text that may hold any field of its
                # category, so any withheld field redacts it (the cautious reading).
                description="" if hidden else description,
                severity=severity,
                status=status,
                since=_iso(since),
                withheld_fields=list(hidden),
            )
        )
    actions: list[SharedAction] = []
    if category_of:
        actions = [
            SharedAction(
                ref=f"{holder.org_id}:action:{action_id}",
                category=category_of[need_id],
                what=what,
                owner=owner,
                status=status,
                due=_iso(due),
            )
            for action_id, need_id, what, owner, status, due in connection.execute(
                _ACTIONS, {"pid": person_id, "need_ids": sorted(category_of)}
            )
        ]
    contacts: list[SharedContact] = []
    if CONTACT_CATEGORY in released:
        redact_reach = bool(_REACH_FIELDS & set(withheld_fields.get(CONTACT_CATEGORY, [])))
        contacts = [
            SharedContact(
                worker_name=worker_name,
                role=role,
                how_to_reach="" if redact_reach else how_to_reach,
                organisation=organisation or holder.org_name,
            )
            for worker_name, role, how_to_reach, organisation in connection.execute(
                _CONTACTS, {"pid": person_id}
            )
        ]
    return needs, actions, contacts


def read_open_referrals(
    *, session: Session, subject_id: str, holder: Holder, decision: PolicyDecision
) -> list[SharedReferral]:
    """Open referrals about ``subject_id`` this node is a party to, of released categories."""
    released = set(decision.categories) if decision.allow else set()
    if not released:
        return []
    rows = session.connection().execute(
        _OPEN_REFERRALS, {"sid": subject_id, "cats": sorted(released)}
    )
    return [
        SharedReferral(
            referral_id=row.id,
            from_org=holder.org_id if row.direction == "outgoing" else row.partner_org,
            to_org=row.partner_org if row.direction == "outgoing" else holder.org_id,
            category=row.category,
            state=row.state,
            urgency=row.urgency,
            sent_at=_iso_utc(row.created_at),
            updated_at=_iso_utc(row.updated_at),
        )
        for row in rows
    ]


def _iso_utc(value: Any) -> str:
    # SQLite hands back naive datetimes; both ends must write the same form, as the
    # requester compares them to show the latest report of a referral.
    moment = value if value.tzinfo else value.replace(tzinfo=UTC)
    return str(moment.astimezone(UTC).isoformat())


def answer_share_request(
    *,
    session: Session,
    request: VerifiedRequest,
    registry: Registry,
    policy: PolicyEngine,
    revocations: RevocationSet | None,
    holder: Holder,
    keys: MemberKeys,
    all_categories: Sequence[str],
    clock: Callable[[], float] = time.time,
) -> str | None:
    """Decide, read, audit and seal one share request; returns the signed response JWT.

    ``None`` when the requester's deadline had passed: the refusal is audited and
    nothing is released.
    """
    if request.action != SHARE_ACTION:
        raise BadRequest("not a share request")
    body = parse_share_body(request.body)
    if request.past_deadline(clock()):
        _audit_late_refusal(session=session, request=request, body=body, holder=holder)
        return None
    requester = registry.member(request.issuer)
    consent = check_consent(
        token=body.consent_token,
        registry=registry,
        requester=request.issuer,
        subject_id=body.subject_id,
        purpose=body.purpose,
        revocations=revocations,
    )
    person_id = linked_person_id(session=session, subject_id=body.subject_id)
    decision = policy.decide(
        "share",
        share_policy_input(
            body=body,
            requester_org=request.issuer,
            requester_kind=requester.kind,
            holder=holder,
            consent=consent,
            all_categories=all_categories,
            held_categories=held_categories(session=session, person_id=person_id),
        ),
    )
    needs: list[SharedNeed] = []
    actions: list[SharedAction] = []
    contacts: list[SharedContact] = []
    if person_id is not None:
        needs, actions, contacts = read_released_records(
            session=session, person_id=person_id, holder=holder, decision=decision
        )
    referrals = read_open_referrals(
        session=session, subject_id=body.subject_id, holder=holder, decision=decision
    )
    section = SharedSection(
        org_id=holder.org_id,
        org_name=holder.org_name,
        org_kind=holder.org_kind,
        subject_id=body.subject_id,
        known=person_id is not None,
        decision=_summary(decision),
        needs=needs,
        actions=actions,
        contacts=contacts,
        referrals=referrals,
    )
    # What was actually sent, not what the policy allowed: the customer's access
    # report ("who saw my records") is built from this entry.
    released = sorted(
        {n.category for n in needs}
        | {r.category for r in referrals}
        | ({CONTACT_CATEGORY} if contacts else set())
    )
    if request.past_deadline(clock()):  # frozen or slow while deciding: still nothing out
        _audit_late_refusal(session=session, request=request, body=body, holder=holder)
        return None
    _audit_share(
        session=session,
        request=request,
        body=body,
        holder=holder,
        decision="allow" if decision.allow else "deny",
        categories=released,
        reason="; ".join(decision.reasons),
    )
    return seal_response(
        keys=keys,
        issuer=holder.org_id,
        audience=request.issuer,
        request_id=request.request_id,
        body=section.model_dump(mode="json"),
        recipient_key=registry.public_key(request.issuer),
    )


def _audit_late_refusal(
    *, session: Session, request: VerifiedRequest, body: ShareRequestBody, holder: Holder
) -> None:
    """Audit a share request refused because its requester had already given up."""
    _audit_share(
        session=session,
        request=request,
        body=body,
        holder=holder,
        decision="deny",
        categories=[],
        reason=DEADLINE_PASSED_REASON,
    )


def _audit_share(
    *,
    session: Session,
    request: VerifiedRequest,
    body: ShareRequestBody,
    holder: Holder,
    decision: str,
    categories: Sequence[str],
    reason: str,
) -> None:
    """The ``share_decided`` entry, in the answer's transaction (no release without it)."""
    record_audit(
        session=session,
        kind="share_decided",
        request_id=body.view_id or request.request_id,
        actor_org=request.issuer,
        actor_staff=body.staff_pseudonym,
        actor_role=body.staff_role,
        subject_id=body.subject_id,
        purpose=body.purpose,
        action="read",
        decision=decision,
        categories=categories,
        reason=reason,
        emergency=body.emergency is not None,
        holder_org=holder.org_id,
        emergency_basis=body.emergency.basis if body.emergency else None,
        justification=body.emergency.justification if body.emergency else None,
    )

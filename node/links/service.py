"""Linking federation subjects to this node's persons (DESIGN "Identity and linkage").

A partner that enrols a person sends every member a signed ``link`` request with
the subject id and the person's linkage tokens (HMAC-SHA256 of normalised
identifiers under the shared, versioned linkage key; ``federation.linkage``). This
node compares them, by equality and only for its own key version, with the tokens
it stored for its persons, and then:

- exactly one person matched, the evidence agrees and that person is not linked
  yet → ``SubjectLink(method="linkage")``, status ``linked``;
- several persons matched, or the national-number token points at one person and
  the demographic token at another (or at a person with a different national
  number), or the person is already linked to another subject → a ``LinkReview``
  for a person to decide, status ``queued`` — never linked automatically;
- nothing matched → ``no_match``; the subject already linked here → ``already_linked``.

Every outcome is audited (kind ``link``). Services flush, never commit.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

import sqlalchemy as sa
from sqlmodel import Session, col, func, select

from federation.errors import NotFound
from federation.linkage import token_kind, token_version
from node.audit.service import record_audit
from node.db import utcnow
from node.links.exceptions import LinkConflict, ReviewClosed, ReviewNotFound
from node.links.models import LinkMethod, LinkReview, SubjectLink
from node.records.models import Person

LinkOutcome = str  # "linked" | "queued" | "no_match" | "already_linked"

_TOKEN = re.compile(r"^v[0-9]{1,6}\.(nn|dem)\.[0-9a-f]{64}$")


@dataclass(frozen=True)
class TokenMatch:
    """Local persons whose stored tokens equal a national-number / demographic token."""

    by_nn: frozenset[int]
    by_dem: frozenset[int]
    persons_with_nn: frozenset[int]  # matched persons that hold an nn token of this version

    @property
    def candidates(self) -> frozenset[int]:
        return self.by_nn | self.by_dem


def usable_tokens(tokens: Sequence[str], key_version: int) -> list[str]:
    """Well-formed tokens of this node's key version (others cannot be compared)."""
    return sorted({t for t in tokens if _TOKEN.match(t) and token_version(t) == key_version})


def match_tokens(*, session: Session, tokens: Sequence[str], key_version: int) -> TokenMatch:
    """Find persons by token equality, in one query over the stored token lists."""
    wanted = usable_tokens(tokens, key_version)
    if not wanted:
        return TokenMatch(frozenset(), frozenset(), frozenset())
    # The JSON list is searched as text for the quoted token (hex, no LIKE wildcards),
    # then confirmed by exact list membership below: portable to SQLite and PostgreSQL.
    stored = sa.cast(col(Person.linkage_tokens), sa.Text)
    rows = session.exec(
        select(Person.id, Person.linkage_tokens).where(
            sa.or_(*[stored.contains(f'"{t}"', autoescape=True) for t in wanted])
        )
    ).all()
    by_nn: set[int] = set()
    by_dem: set[int] = set()
    with_nn: set[int] = set()
    wanted_set = set(wanted)
    for person_id, person_tokens in rows:
        assert person_id is not None
        mine = set(person_tokens or [])
        for token in mine & wanted_set:
            (by_nn if token_kind(token) == "nn" else by_dem).add(person_id)
        if any(token_kind(t) == "nn" and token_version(t) == key_version for t in mine):
            with_nn.add(person_id)
    return TokenMatch(frozenset(by_nn), frozenset(by_dem), frozenset(with_nn))


def decide_match(match: TokenMatch, *, request_has_nn: bool) -> tuple[int | None, str]:
    """The one person to link, or None with the reason it must be reviewed / no match."""
    if not match.candidates:
        return None, "no_match"
    if len(match.by_nn) > 1:
        return None, "national number token matches several persons"
    if match.by_nn and match.by_dem and match.by_dem != match.by_nn:
        return None, "national number and demographic tokens point at different persons"
    if not match.by_nn and len(match.by_dem) > 1:
        return None, "demographic token matches several persons"
    (person_id,) = tuple(match.candidates)
    if not match.by_nn and request_has_nn and person_id in match.persons_with_nn:
        return None, "demographic match but the national numbers differ"
    return person_id, "unique match"


def link_for_subject(*, session: Session, subject_id: str) -> SubjectLink | None:
    return session.exec(select(SubjectLink).where(SubjectLink.subject_id == subject_id)).first()


def link_for_person(*, session: Session, person_id: int) -> SubjectLink | None:
    return session.exec(select(SubjectLink).where(SubjectLink.person_id == person_id)).first()


def create_link(
    *, session: Session, subject_id: str, person_id: int, method: LinkMethod
) -> SubjectLink:
    """Store subject ↔ person; ``LinkConflict`` if either side is linked elsewhere."""
    existing = link_for_subject(session=session, subject_id=subject_id)
    if existing is not None:
        if existing.person_id == person_id:
            return existing
        raise LinkConflict("this subject is already linked to another person here")
    if link_for_person(session=session, person_id=person_id) is not None:
        raise LinkConflict("this person is already linked to another subject")
    link = SubjectLink(subject_id=subject_id, person_id=person_id, method=method)
    session.add(link)
    session.flush()
    return link


def receive_link_request(
    *,
    session: Session,
    subject_id: str,
    tokens: Sequence[str],
    key_version: int,
    requester: str,
    request_id: str,
    holder_org: str,
) -> LinkOutcome:
    """Match a partner's link request and link, queue or report no match (audited)."""
    if link_for_subject(session=session, subject_id=subject_id) is not None:
        outcome, reason = "already_linked", "subject already linked at this node"
    else:
        usable = usable_tokens(tokens, key_version)
        match = match_tokens(session=session, tokens=usable, key_version=key_version)
        person_id, reason = decide_match(
            match, request_has_nn=any(token_kind(t) == "nn" for t in usable)
        )
        if person_id is not None and link_for_person(session=session, person_id=person_id):
            person_id, reason = None, "matched person is already linked to another subject"
        if person_id is not None:
            create_link(
                session=session, subject_id=subject_id, person_id=person_id, method="linkage"
            )
            outcome = "linked"
        elif reason == "no_match":
            outcome, reason = "no_match", "no local person matches the linkage tokens"
        else:
            queue_review(
                session=session,
                subject_id=subject_id,
                requester=requester,
                request_id=request_id,
                reason=reason,
                candidates=sorted(match.candidates),
            )
            outcome = "queued"
    record_audit(
        session=session,
        kind="link",
        request_id=request_id,
        actor_org=requester,
        subject_id=subject_id,
        action="link",
        decision="allow" if outcome == "linked" else "info",
        reason=f"{outcome}: {reason}",
        holder_org=holder_org,
    )
    return outcome


def queue_review(
    *,
    session: Session,
    subject_id: str,
    requester: str,
    request_id: str,
    reason: str,
    candidates: list[int],
) -> LinkReview:
    """Queue a review, once per subject while one is pending."""
    pending = session.exec(
        select(LinkReview).where(
            LinkReview.subject_id == subject_id, LinkReview.status == "pending"
        )
    ).first()
    if pending is not None:
        return pending
    review = LinkReview(
        subject_id=subject_id,
        requested_by=requester,
        request_id=request_id,
        reason=reason[:200],
        candidate_person_ids=candidates,
    )
    session.add(review)
    session.flush()
    return review


def list_reviews(
    *, session: Session, status: str | None = "pending", offset: int = 0, limit: int = 50
) -> tuple[list[LinkReview], int]:
    query = select(LinkReview)
    counter = select(func.count()).select_from(LinkReview)
    if status is not None:
        query = query.where(LinkReview.status == status)
        counter = counter.where(LinkReview.status == status)
    rows = session.exec(query.order_by(col(LinkReview.id)).offset(offset).limit(limit)).all()
    return list(rows), int(session.exec(counter).one())


def _open_review(session: Session, review_id: int) -> LinkReview:
    review = session.get(LinkReview, review_id)
    if review is None:
        raise ReviewNotFound(f"link review {review_id} does not exist")
    if review.status != "pending":
        raise ReviewClosed(f"link review {review_id} is already {review.status}")
    return review


def confirm_review(
    *,
    session: Session,
    review_id: int,
    person_id: int,
    staff_pseudonym: str,
    staff_role: str,
    org_id: str,
) -> LinkReview:
    """A person decided: link the subject to ``person_id`` (method ``manual``), audited."""
    review = _open_review(session, review_id)
    if session.get(Person, person_id) is None:
        raise NotFound(f"person {person_id} does not exist")
    create_link(session=session, subject_id=review.subject_id, person_id=person_id, method="manual")
    review.status = "confirmed"
    review.person_id = person_id
    review.resolved_at = utcnow()
    review.resolved_by = staff_pseudonym
    session.add(review)
    session.flush()
    record_audit(
        session=session,
        kind="link",
        request_id=review.request_id,
        actor_org=org_id,
        actor_staff=staff_pseudonym,
        actor_role=staff_role,
        subject_id=review.subject_id,
        action="link_confirm",
        decision="allow",
        reason="link confirmed by a person after review",
        holder_org=org_id,
    )
    return review


def reject_review(
    *, session: Session, review_id: int, staff_pseudonym: str, staff_role: str, org_id: str
) -> LinkReview:
    """A person decided the subject is nobody here; audited."""
    review = _open_review(session, review_id)
    review.status = "rejected"
    review.resolved_at = utcnow()
    review.resolved_by = staff_pseudonym
    session.add(review)
    session.flush()
    record_audit(
        session=session,
        kind="link",
        request_id=review.request_id,
        actor_org=org_id,
        actor_staff=staff_pseudonym,
        actor_role=staff_role,
        subject_id=review.subject_id,
        action="link_reject",
        decision="info",
        reason="link rejected by a person after review",
        holder_org=org_id,
    )
    return review

"""Enrolment: a workflow across the consent service, this node and every partner.

``enrol_person`` (DESIGN "Identity and linkage"):

1. computes the person's linkage tokens under the federation linkage key — the raw
   name, date of birth and national number never leave this node;
2. asks the consent service for the person's ``subject_id`` with a signed ``enrol``
   request (docs/protocol.md, "Consent service contract" §1): the same person always
   gets the same subject id;
3. sends every other organisation member a signed ``link`` request
   (``{subject_id, linkage_tokens, enrolment}``, the last the consent service's
   signed statement that these tokens are that subject's) concurrently through the
   app's one ``httpx.AsyncClient``, each bounded by the share deadline, and reports
   each partner's answer: ``received`` (never whether the partner knows the
   person), or ``unavailable`` / ``error``, never a failed enrolment;
4. stores ``SubjectLink(method="enrolment")`` and audits it (last, so the local
   write transaction never spans network round trips).

Database work runs in a worker thread (the session is used by one thread at a time);
the network calls are awaited on the event loop.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass

import anyio
import httpx
from sqlmodel import Session

from federation.enrolment import verify_enrolment_statement
from federation.envelope import new_request_id, sign_request
from federation.errors import EnrolmentInvalid, PeerUnavailable, SealedResponseInvalid
from federation.keys import MemberKeys
from federation.linkage import LinkageKey, linkage_tokens
from federation.registry import CONSENT_SERVICE_ID, Member, Registry
from federation.share_schema import LinkRequestBody
from federation.wire.enrol import EnrolRequest
from node.audit.service import record_audit
from node.db import release_connection
from node.links.exceptions import LinkageUnavailable, LinkConflict, TooFewIdentifiers
from node.links.models import SubjectLink
from node.links.schemas import EnrolmentPublic, PartnerLinkOutcome
from node.links.service import create_link, link_for_person
from node.records.service import get_person

log = logging.getLogger("joinedup.node.links")

ENROL_ACTION = EnrolRequest.action
LINK_STATUSES = frozenset({"received"})


@dataclass(frozen=True)
class Enrolling:
    """Who is enrolling whom: the node and the staff member acting."""

    org_id: str
    keys: MemberKeys
    linkage_key: LinkageKey | None
    staff_pseudonym: str
    staff_role: str
    deadline_s: float


def person_tokens(*, session: Session, person_id: int, key: LinkageKey | None) -> list[str]:
    """The person's linkage tokens (``NotFound`` for an unknown person)."""
    if key is None:
        raise LinkageUnavailable("this node has no linkage key configured")
    person = get_person(session=session, person_id=person_id)
    tokens = linkage_tokens(
        key=key,
        family_name=person.family_name,
        given_name=person.given_name,
        date_of_birth=person.date_of_birth,
        postcode=person.postcode,
        national_number=person.national_number,
    )
    if not tokens:
        raise TooFewIdentifiers(
            "the person's record has too few identifiers to link: add a postcode or a "
            "national number"
        )
    return tokens


@dataclass(frozen=True)
class Enrolment:
    """The consent service's answer: the subject and its signed enrolment statement."""

    subject_id: str
    created: bool
    statement: str


async def request_subject_id(
    *, http: httpx.AsyncClient, registry: Registry, who: Enrolling, tokens: list[str]
) -> Enrolment:
    """Ask the consent service for the subject id of the person these tokens describe."""
    consent = registry.consent_service
    signed = sign_request(
        EnrolRequest(linkage_tokens=tokens),
        keys=who.keys,
        issuer=who.org_id,
        audience=CONSENT_SERVICE_ID,
    )
    try:
        response = await http.post(
            f"{consent.base_url}/federation/enrol",
            json={"request": signed},
            timeout=who.deadline_s,
        )
    except httpx.HTTPError as exc:
        raise PeerUnavailable(f"consent service unreachable ({type(exc).__name__})") from None
    if response.status_code != 200:
        raise SealedResponseInvalid(f"consent service answered {response.status_code}")
    try:
        answer = response.json()
        subject_id, created = answer["subject_id"], answer.get("created", False)
        statement = answer["enrolment"]
    except (ValueError, KeyError, TypeError):
        raise SealedResponseInvalid("consent service answer is malformed") from None
    if not isinstance(subject_id, str) or not 0 < len(subject_id) <= 128:
        raise SealedResponseInvalid("consent service answer has no usable subject id")
    try:
        # Partners will check it; a statement that would not convince them is useless.
        verify_enrolment_statement(
            statement,
            registry=registry,
            subject_id=subject_id,
            requester=who.org_id,
            linkage_tokens=tokens,
        )
    except EnrolmentInvalid as exc:
        raise SealedResponseInvalid(f"consent service answer: {exc.message}") from None
    return Enrolment(subject_id=subject_id, created=bool(created), statement=statement)


def store_enrolment(
    *, session: Session, person_id: int, subject_id: str, who: Enrolling, request_id: str
) -> None:
    """Link the enrolled person here and audit it (idempotent for the same pair)."""
    existing = link_for_person(session=session, person_id=person_id)
    if existing is not None and existing.subject_id != subject_id:
        raise LinkConflict("this person is already linked to another subject")
    create_link(session=session, subject_id=subject_id, person_id=person_id, method="enrolment")
    record_audit(
        session=session,
        kind="link",
        request_id=request_id,
        actor_org=who.org_id,
        actor_staff=who.staff_pseudonym,
        actor_role=who.staff_role,
        subject_id=subject_id,
        action="enrol",
        decision="allow",
        reason="person enrolled with the consent service and linked here",
        holder_org=who.org_id,
    )


async def _ask_partner(
    *,
    http: httpx.AsyncClient,
    member: Member,
    who: Enrolling,
    enrolment: Enrolment,
    tokens: list[str],
) -> PartnerLinkOutcome:
    signed = sign_request(
        LinkRequestBody(
            subject_id=enrolment.subject_id,
            linkage_tokens=tokens,
            enrolment=enrolment.statement,
        ),
        keys=who.keys,
        issuer=who.org_id,
        audience=member.org_id,
    )
    try:
        with anyio.fail_after(who.deadline_s):
            response = await http.post(
                f"{member.base_url}/federation/link",
                json={"request": signed},
                timeout=who.deadline_s,
            )
    except (httpx.HTTPError, TimeoutError):
        return PartnerLinkOutcome(org_id=member.org_id, status="unavailable")
    status = "error"
    if response.status_code == 200:
        try:
            answered = response.json().get("status")
        except (ValueError, AttributeError):
            answered = None
        status = answered if answered in LINK_STATUSES else "error"
    elif response.status_code in (502, 503, 504):
        status = "unavailable"
    return PartnerLinkOutcome(org_id=member.org_id, status=status)


async def notify_partners(
    *,
    http: httpx.AsyncClient,
    registry: Registry,
    who: Enrolling,
    enrolment: Enrolment,
    tokens: list[str],
) -> list[PartnerLinkOutcome]:
    """Send the link request to every other organisation at once."""
    partners = [m for m in registry.organisations() if m.org_id != who.org_id]
    outcomes = await asyncio.gather(
        *[
            _ask_partner(http=http, member=m, who=who, enrolment=enrolment, tokens=tokens)
            for m in partners
        ]
    )
    return sorted(outcomes, key=lambda o: o.org_id)


async def enrol_person(
    *,
    session: Session,
    http: httpx.AsyncClient,
    registry: Registry,
    person_id: int,
    who: Enrolling,
) -> EnrolmentPublic:
    """Enrol a local person with the consent service and link them across the federation."""

    def read_person() -> tuple[list[str], SubjectLink | None]:
        tokens = person_tokens(session=session, person_id=person_id, key=who.linkage_key)
        link = link_for_person(session=session, person_id=person_id)
        release_connection(session)  # not held across the partners' round trips
        return tokens, link

    tokens, existing = await anyio.to_thread.run_sync(read_person)
    enrolment = await request_subject_id(http=http, registry=registry, who=who, tokens=tokens)
    subject_id = enrolment.subject_id
    if existing is not None and existing.subject_id != subject_id:
        raise LinkConflict("this person is already linked to another subject")
    # Partners first, then the local write: the node's write transaction stays short
    # instead of spanning the partners' round trips (SQLite has one writer at a time).
    partners = await notify_partners(
        http=http, registry=registry, who=who, enrolment=enrolment, tokens=tokens
    )
    request_id = new_request_id()
    await anyio.to_thread.run_sync(
        lambda: store_enrolment(
            session=session,
            person_id=person_id,
            subject_id=subject_id,
            who=who,
            request_id=request_id,
        )
    )
    return EnrolmentPublic(subject_id=subject_id, created=enrolment.created, partners=partners)

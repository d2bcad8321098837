"""Message schemas of the share exchange: what a requester asks and what a holder seals.

DESIGN "Federation protocol": a requesting node sends each partner a signed request
(``federation.envelope.sign_request``, action ``share``) whose ``body`` is a
``ShareRequestBody`` (a ``federation.wire`` message, as is ``LinkRequestBody``);
the partner answers ``{"response": "<JWT>"}`` whose sealed body (libsodium sealed
box to the requester's X25519 key, then an Ed25519 JWS, RFC 7515) is a
``SharedSection``. docs/protocol.md shows a worked example of each.

Nothing here carries a raw identifier: the subject is the consent service's opaque
``subject_id``, staff are named by pseudonym, and record references are
``<org_id>:<kind>:<row id>``. A policy denial is still a ``SharedSection`` with
``decision.allow`` false (the requester shows that section as denied); a subject the
holder does not know is ``known`` false with empty lists.
"""

from __future__ import annotations

from typing import Annotated, Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from federation.wire import WireMessage

SHARE_ACTION = "share"
LINK_ACTION = "link"
# After an emergency view: tell the customer through the consent service.
NOTIFY_ACTION = "notify_customer"

MAX_CATEGORIES = 32
MAX_TEXT = 4000

# Vocabulary words (categories, purposes, roles, emergency bases) are snake_case
# slugs. Holding them to that keeps quotes, backslashes and control characters out
# of anything a policy may echo back in its decision (a category it does not know,
# the role it refuses).
SLUG_PATTERN = r"^[a-z][a-z0-9_]*$"
Slug = Annotated[str, StringConstraints(min_length=1, max_length=64, pattern=SLUG_PATTERN)]
CategoryId = Slug
LinkageToken = Annotated[str, StringConstraints(min_length=1, max_length=200)]


class EmergencyBasis(BaseModel):
    """Emergency access without consent: the legal basis and a written justification."""

    model_config = ConfigDict(extra="forbid")

    basis: str = Field(
        min_length=1, max_length=64, pattern=SLUG_PATTERN, description="e.g. vital_interests"
    )
    justification: str = Field(min_length=1, max_length=MAX_TEXT)


class ShareRequestBody(WireMessage):
    """The ``body`` of a signed ``share`` request."""

    action: ClassVar[str] = SHARE_ACTION

    subject_id: str = Field(min_length=1, max_length=128)
    purpose: str = Field(min_length=1, max_length=64, pattern=SLUG_PATTERN)
    categories: list[CategoryId] = Field(
        default_factory=list,
        max_length=MAX_CATEGORIES,
        description="Requested categories; empty means every category.",
    )
    staff_role: str = Field(min_length=1, max_length=32, pattern=SLUG_PATTERN)
    staff_pseudonym: str = Field(min_length=1, max_length=128)
    consent_token: str | None = Field(default=None, max_length=100_000)
    emergency: EmergencyBasis | None = None
    view_id: str | None = Field(
        default=None, max_length=128, description="Traces one view across every node."
    )

    def body(self) -> dict[str, Any]:
        """Every field, ``null`` ones included: the share body has always carried them."""
        return self.model_dump(mode="json")


class WithheldNotice(BaseModel):
    """A requested category that was not released, and why.

    ``held`` true: the holder holds records of the category but its policy did not
    release them (said only where the policy allows revealing that). ``held`` false:
    no agreement covers this request, which says nothing about what is held.
    """

    category: str
    reason: str
    held: bool = False


class ShareDecisionSummary(BaseModel):
    """The holder's policy decision, as it may be shown to the requester."""

    allow: bool
    categories: list[str] = Field(default_factory=list)
    withheld: list[WithheldNotice] = Field(default_factory=list)
    obligations: list[str] = Field(default_factory=list)
    reasons: list[str] = Field(default_factory=list)


class SharedNeed(BaseModel):
    ref: str = Field(description="<org_id>:need:<row id>; never a person identifier")
    category: str
    description: str
    severity: str
    status: str
    since: str | None = None
    withheld_fields: list[str] = Field(
        default_factory=list, description="Fields policy removed (description redacted)."
    )


class SharedAction(BaseModel):
    ref: str = Field(description="<org_id>:action:<row id>")
    category: str
    what: str
    owner: str
    status: str
    due: str | None = None


class SharedReferral(BaseModel):
    """An open referral about the subject that the holder is a party to (issue 14).

    It travels under the same policy as actions: only when its need category was
    released. ``referral_id`` is the random id both ends keep (never a person
    identifier); it lets the requester show a referral reported by both ends once.
    """

    referral_id: str = Field(min_length=1, max_length=64)
    from_org: str = Field(min_length=1, max_length=64)
    to_org: str = Field(min_length=1, max_length=64)
    category: str
    state: str = Field(min_length=1, max_length=32)
    urgency: str = Field(default="routine", max_length=16)
    sent_at: str = Field(description="When the referral was made (ISO 8601, UTC)")
    updated_at: str | None = Field(default=None, description="Its last change at the holder")


class SharedContact(BaseModel):
    worker_name: str
    role: str
    how_to_reach: str
    organisation: str


class SharedSection(BaseModel):
    """The sealed body of a share response: one holder's section of a joined-up view."""

    org_id: str
    org_name: str
    org_kind: str
    subject_id: str
    known: bool
    decision: ShareDecisionSummary
    needs: list[SharedNeed] = Field(default_factory=list)
    actions: list[SharedAction] = Field(default_factory=list)
    contacts: list[SharedContact] = Field(default_factory=list)
    coordinator: dict[str, str] | None = None
    referrals: list[SharedReferral] = Field(default_factory=list)


class ShareResponse(BaseModel):
    """The plain (unsealed) HTTP answer of ``POST /federation/share``."""

    response: str = Field(description="Compact JWS, typ joinedup-response+jwt, sealed body")


class LinkRequestBody(WireMessage):
    """The ``body`` of a signed ``link`` request: only opaque linkage tokens travel."""

    action: ClassVar[str] = LINK_ACTION

    subject_id: str = Field(min_length=1, max_length=128)
    linkage_tokens: list[LinkageToken] = Field(min_length=1, max_length=16)
    enrolment: str | None = Field(
        default=None,
        max_length=20_000,
        description="The consent service's signed statement binding these linkage tokens "
        "to subject_id (federation.enrolment); a link request without one is refused.",
    )


# The answer is always "received": whether this node knows the person (linked,
# queued for review, no match) is not the requester's business, and answering it
# would let any member ask a refuge or the police whether they hold a record.
LinkStatus = Literal["received"]


class LinkResponse(BaseModel):
    """Answer to a ``link`` request (plain JSON: it carries no personal data)."""

    status: LinkStatus

"""The signed messages of a referral (issue 14; docs/referrals.md, docs/protocol.md).

``ReferralOffer`` (action ``refer``) is what the sending node's outbox posts to the
receiver's ``POST /federation/referrals``; ``ReferralStatus`` (action
``referral_status``) is every later change of state, sent by whichever side made
it to the other's ``POST /federation/referral-status``. Both travel as the
``body`` of a signed request (``federation.envelope.sign_request``) whose
``idempotency_key`` is the referral id (offer) or ``<referral id>:<event seq>``
(status), so a retry is acted on once.

The receiver answers an offer with a ``ReferralAcknowledgement`` sealed to the
sender and signed (``seal_response``): ``received`` or ``declined_by_policy``,
nothing else on a refusal, and whether it still needs the person's contact details.

The person travels as the opaque ``subject_id`` and linkage tokens (keyed hashes;
``federation.linkage``). Contact details, when staff give them, travel only as
``contact_sealed``: a libsodium sealed box (X25519, XSalsa20-Poly1305) to the
receiver's registry key, which the receiver opens only when its policy obliges it
to (``receive_contact_details``) and it does not already know the person.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Annotated, Literal

from nacl.exceptions import CryptoError
from nacl.public import PublicKey, SealedBox
from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError

from federation.keys import MemberKeys, b64decode, b64encode
from federation.share_schema import MAX_TEXT, EmergencyBasis, LinkageToken, Slug
from federation.wire import WireMessage

REFER_ACTION = "refer"
REFERRAL_STATUS_ACTION = "referral_status"
CONTACT_OBLIGATION = "receive_contact_details"

ReferralId = Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{32}$")]
Urgency = Literal["routine", "urgent", "emergency"]
# What the receiver has of the person's contact details (docs/referrals.md).
ContactState = Literal["not_needed", "received", "needed"]
MAX_SEALED = 8000
MAX_SHORT = 200


class ReferralRequester(BaseModel):
    """Who asked, without their username: their role and how they describe their job."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    role: Slug
    description: str = Field(default="", max_length=MAX_SHORT)
    pseudonym: str = Field(default="", max_length=128, description="Staff pseudonym (audit).")


class ReferralOffer(WireMessage):
    """The body of a signed ``refer`` request: one referral of one person."""

    action = REFER_ACTION

    referral_id: ReferralId
    subject_id: str = Field(min_length=1, max_length=128)
    linkage_tokens: list[LinkageToken] = Field(default_factory=list, max_length=16)
    category: Slug
    purpose: Slug
    urgency: Urgency
    reason: str = Field(min_length=1, max_length=MAX_TEXT)
    person_told: str = Field(min_length=1, max_length=MAX_TEXT)
    contact_preferences: str | None = Field(default=None, max_length=MAX_TEXT)
    consent_token: str | None = Field(default=None, max_length=100_000)
    emergency: EmergencyBasis | None = None
    contact_sealed: str | None = Field(
        default=None,
        max_length=MAX_SEALED,
        description="ReferralContact sealed to the receiver's X25519 key (base64url).",
    )
    requester: ReferralRequester
    sent_at: dt.datetime = Field(description="When staff sent it; response targets run from it.")


class ReferralStatus(WireMessage):
    """The body of a signed ``referral_status`` request: one change of state."""

    action = REFERRAL_STATUS_ACTION

    referral_id: ReferralId
    seq: int = Field(ge=1, le=1_000_000, description="The change's number at its sender.")
    to_state: Slug
    reason_code: Slug | None = None
    note: str | None = Field(default=None, max_length=MAX_TEXT)
    worker: str | None = Field(default=None, max_length=128, description="Display name only.")
    at: dt.datetime


class ReferralAcknowledgement(BaseModel):
    """The sealed answer to a ``refer`` request."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    referral_id: ReferralId
    state: Literal["received", "declined_by_policy"]
    contact: ContactState = "not_needed"


class ReferralContact(BaseModel):
    """The minimum contact details, the plaintext of ``contact_sealed``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(min_length=1, max_length=MAX_SHORT)
    how_to_contact: str = Field(min_length=1, max_length=1000)
    preferences: str | None = Field(default=None, max_length=1000)


def seal_contact(contact: ReferralContact, recipient_key: PublicKey) -> str:
    """``contact`` sealed to the receiver's X25519 key (only it can open it)."""
    plaintext = json.dumps(contact.model_dump(exclude_none=True), separators=(",", ":")).encode()
    return b64encode(SealedBox(recipient_key).encrypt(plaintext))


def open_contact(sealed: str, keys: MemberKeys) -> ReferralContact | None:
    """The contact details in ``sealed``, or None if they cannot be opened or read."""
    try:
        plaintext = SealedBox(keys.encryption_key).decrypt(b64decode(sealed))
        return ReferralContact.model_validate_json(plaintext)
    except (CryptoError, ValueError, ValidationError):
        return None

"""The example federation behind docs/protocol.md: members, keys, registry, a GP's log.

Real keys from fixed seeds (so the examples are stable and a test can open the sealed
answers the page prints); every request is signed with ``federation.envelope`` and
verified at once as its receiver would (signature, audience, window, replay, action,
and the receiving endpoint's own body schema); every sealed answer is opened again by
its requester. Each request's body is a ``federation.wire`` model, and the
receiver's parse of the verified body must give that message back. Imports only
project code, so tests can load it by path.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from nacl.public import PrivateKey
from nacl.signing import SigningKey

from consent.consents.schemas import ConsentCreate, RevokeRequest
from consent.customers.schemas import CustomerCreate, CustomerRecover
from consent.notices.schemas import NoticeCreate
from consent.subjects.schemas import EnrolRequest
from consent.tokens.schemas import ConsentTokenRequest
from federation.envelope import (
    ReplayCache,
    open_response,
    seal_response,
    sign_request,
    verify_request,
)
from federation.jose import read_unverified_claims
from federation.keys import MemberKeys
from federation.merkle import CompactRange, entry_leaf_hash, inclusion_proof
from federation.registry import (
    Member,
    Registry,
    RegistryDocument,
    sign_registry,
    verify_registry,
)
from federation.share_schema import LinkRequestBody, ShareRequestBody
from federation.tree_head import sign_tree_head
from federation.wire import WireMessage
from federation.wire.audit import AuditSubjectReport, AuditTrace
from federation.wire.consent_change import ConsentGranted
from federation.wire.evidence import AggregateContribute, AggregateJoin
from federation.wire.guide import GuideAnnounce
from federation.wire.referral import ReferralOffer, ReferralStatus
from node.audit.models import canonical_fields
from node.audit.schemas import ProvenEntries, ProvenEntry, TreeHeadPublic
from node.revocations.schemas import RevocationPush

NOW = 1_795_500_000  # a fixed instant (2026-11-24T06:00:00Z) so the examples are stable
URLS = {
    "consent": "https://consent.riverside.example",
    "council": "https://node.council.riverside.example",
    "gp": "https://node.gp.riverside.example",
    "police": "https://node.police.riverside.example",
}
ENDPOINTS = {
    "enrol": "/federation/enrol",
    "create_customer": "/federation/customers",
    "recover_customer": "/federation/customers/recovery",
    "grant": "/federation/grants",
    "consent_token": "/federation/consent-token",
    "revoke_consent": "/federation/consents/revoke",
    "link": "/federation/link",
    "share": "/federation/share",
    "revoke": "/federation/revocations",
    "consent_granted": "/federation/consent-grants",
    "guide_announce": "/federation/guide/announce",
    "audit_trace": "/federation/audit/trace",
    "audit_subject_report": "/federation/audit/subject-report",
    "notify_customer": "/federation/notices",
    "aggregate_join": "/federation/aggregate/join",
    "aggregate_contribute": "/federation/aggregate/contribute",
    "refer": "/federation/referrals",
    "referral_status": "/federation/referral-status",
}
# What each action's receiver validates its ``body`` with: the wire model, or the
# receiver's extension of it (its own vocabulary).
BODY_SCHEMAS: dict[str, type[WireMessage]] = {
    "enrol": EnrolRequest,
    "create_customer": CustomerCreate,
    "recover_customer": CustomerRecover,
    "grant": ConsentCreate,
    "consent_token": ConsentTokenRequest,
    "revoke_consent": RevokeRequest,
    "link": LinkRequestBody,
    "share": ShareRequestBody,
    "revoke": RevocationPush,
    "consent_granted": ConsentGranted,
    "guide_announce": GuideAnnounce,
    "audit_trace": AuditTrace,
    "audit_subject_report": AuditSubjectReport,
    "notify_customer": NoticeCreate,
    "aggregate_join": AggregateJoin,
    "aggregate_contribute": AggregateContribute,
    "refer": ReferralOffer,
    "referral_status": ReferralStatus,
}


def seeded_keys(name: str) -> MemberKeys:
    """The example keys of member ``name`` (real Ed25519/X25519 keys from a fixed seed)."""
    seed = hashlib.sha256(f"joinedup-example-{name}".encode()).digest()
    enc = hashlib.sha256(f"joinedup-example-enc-{name}".encode()).digest()
    return MemberKeys(SigningKey(seed), PrivateKey(enc))


def authority_key() -> SigningKey:
    """The example federation authority's registry-signing key."""
    return SigningKey(hashlib.sha256(b"joinedup-example-authority").digest())


@dataclass
class Federation:
    """The example federation: keys, the signed registry and a receiver's replay cache."""

    keys: dict[str, MemberKeys]
    signed_registry: dict[str, Any]
    registry: Registry
    cache: ReplayCache

    @classmethod
    def build(cls) -> Federation:
        keys = {name: seeded_keys(name) for name in URLS}
        names = {
            "consent": "Consent service",
            "council": "Riverside Council",
            "gp": "Riverside GP",
            "police": "Riverside Police",
        }
        kinds = {"consent": "consent_service", "council": "council", "gp": "gp", "police": "police"}
        members = [
            Member(
                org_id=org,
                name=names[org],
                kind=kinds[org],
                base_url=URLS[org],
                verify_keys=[keys[org].verify_key_b64],
                encryption_key=keys[org].public_key_b64,
            )
            for org in URLS
        ]
        document = RegistryDocument(
            federation="riverside",
            version=3,
            issued_at=datetime.fromtimestamp(NOW, UTC),
            members=members,
        )
        signed = sign_registry(document, authority_key())
        cache = ReplayCache()
        cache.not_before = 0  # the examples are in the past; a live receiver refuses that
        return cls(keys, signed, verify_registry(signed, authority_key().verify_key), cache)

    def request(
        self,
        *,
        sender: str,
        receiver: str,
        message: WireMessage,
        jti: str,
        at: int,
        deadline: float | None = None,
        idempotency_key: str | None = None,
    ) -> str:
        """Sign ``message`` as ``sender``, then verify and parse it as ``receiver`` would."""
        action = type(message).action
        token = sign_request(
            message,
            keys=self.keys[sender],
            issuer=sender,
            audience=receiver,
            ttl_s=30,
            request_id=jti,
            now=at,
            deadline=deadline,
            idempotency_key=idempotency_key,
        )
        verified = verify_request(
            token,
            registry=self.registry,
            audience=receiver,
            replay_cache=self.cache,
            expected_action=action,
            now=at + 1,
        )
        parsed = BODY_SCHEMAS[action].from_body(verified.body)
        if (
            not isinstance(parsed, type(message))
            or type(message).from_body(verified.body) != message
        ):
            raise AssertionError(f"{action}: the receiver does not read back the message sent")
        return token

    def sealed(
        self, *, holder: str, requester: str, request: str, body: dict[str, Any], at: int
    ) -> str:
        """Seal ``body`` as ``holder`` answering ``request``; open it as the requester."""
        jti = read_unverified_claims(request)["jti"]
        token = seal_response(
            keys=self.keys[holder],
            issuer=holder,
            audience=requester,
            request_id=jti,
            body=body,
            recipient_key=self.registry.public_key(requester),
            now=at,
        )
        opened = open_response(
            token,
            registry=self.registry,
            keys=self.keys[requester],
            me=requester,
            expected_issuer=holder,
            request_id=jti,
            now=at + 1,
        )
        if opened != body:
            raise AssertionError("the sealed answer does not open to its body")
        return token


class AuditLog:
    """The GP node's audit log as an RFC 9162 tree, entries in the node's canonical form."""

    def __init__(self, keys: MemberKeys) -> None:
        self.keys = keys
        self.entries: list[dict[str, Any]] = []
        self.nodes: dict[tuple[int, int], bytes] = {}
        self.tree = CompactRange()

    def append(self, *, at: int, **fields: Any) -> None:
        entry = canonical_fields(
            seq=len(self.entries), recorded_at=datetime.fromtimestamp(at, UTC), **fields
        )
        for level, index, digest in self.tree.append(entry_leaf_hash(entry)):
            self.nodes[(level, index)] = digest
        self.entries.append(entry)

    def proven(self, *, wanted: list[int], at: int) -> dict[str, Any]:
        """A ``ProvenEntries`` answer: a fresh signed head and a proof per wanted entry."""
        size = len(self.entries)
        head = sign_tree_head(
            keys=self.keys,
            org_id="gp",
            tree_size=size,
            root_hash=self.tree.root(),
            timestamp=at * 1000,
        )

        def source(keys: Any) -> dict[tuple[int, int], bytes]:
            return {key: self.nodes[key] for key in keys}

        answer = ProvenEntries(
            org_id="gp",
            tree_head=TreeHeadPublic(
                org_id="gp",
                tree_size=size,
                root_hash=head.root_hash,
                timestamp_ms=head.timestamp,
                kid=self.keys.kid,
                jws=head.jws,
            ),
            entries=[
                ProvenEntry(
                    entry=self.entries[seq],
                    proof={
                        "index": seq,
                        "tree_size": size,
                        "leaf_hash": entry_leaf_hash(self.entries[seq]).hex(),
                        "proof": [h.hex() for h in inclusion_proof(seq, size, source)],
                    },
                )
                for seq in wanted
            ],
        ).model_dump(mode="json")
        return answer

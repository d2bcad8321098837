"""Signed tree heads and proof checking for a member's audit log (RFC 9162 §4.10).

A node periodically signs a *tree head* — its log's size, root hash and time — with
its Ed25519 member key (DESIGN "Audit"). The signature is a compact JWS
(``typ: joinedup-sth+jwt``, via ``federation.jose``) so partners, auditors and
customers verify it with the verify key the member registry publishes, keep it,
and later demand consistency proofs against it: a node can never quietly rewrite a
log whose head somebody holds.

``check_inclusion`` / ``check_consistency`` are the verifier-side helpers: they take
what a node's API returns (hex strings) and need no database. ``collect_proven_entries``
asks every member for audit entries through the signed protocol and keeps only
those whose proofs check (a request trace; a customer's access report).
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import httpx
from nacl.signing import VerifyKey
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from federation.envelope import new_request_id, open_response, sign_request
from federation.errors import PeerSignatureInvalid
from federation.jose import sign_jwt, verify_jwt
from federation.keys import MemberKeys
from federation.merkle import entry_leaf_hash, verify_consistency, verify_inclusion
from federation.registry import Registry
from federation.wire.audit import AuditSubjectReport, AuditTrace

__all__ = [
    "STH_TYP",
    "InclusionProof",
    "ConsistencyProof",
    "SignedTreeHead",
    "check_consistency",
    "check_inclusion",
    "check_proven_entries",
    "collect_proven_entries",
    "subject_access_report",
    "AccessReport",
    "MissingPart",
    "ProvenSection",
    "SUBJECT_REPORT_ACTION",
    "TRACE_ACTION",
    "sign_tree_head",
    "verify_tree_head",
]

STH_TYP = "joinedup-sth+jwt"
TRACE_ACTION = AuditTrace.action  # POST /federation/audit/trace
SUBJECT_REPORT_ACTION = AuditSubjectReport.action  # .../audit/subject-report
AUDIT_PATHS = {
    TRACE_ACTION: "/federation/audit/trace",
    SUBJECT_REPORT_ACTION: "/federation/audit/subject-report",
}
log = logging.getLogger("joinedup.federation.audit")
_HEX_HASH = re.compile(r"^[0-9a-f]{64}$")
_MAX_PROOF = 64  # a tree of 2**64 leaves needs at most 64 hashes (RFC 9162 §2.1.3)


class SignedTreeHead(BaseModel):
    """A verified tree head: what the JWS ``jws`` says, plus the JWS itself."""

    # strict: a signed "5" or true is not a tree size.
    model_config = ConfigDict(frozen=True, extra="forbid", strict=True)

    org_id: str = Field(min_length=1, max_length=200)
    tree_size: int = Field(ge=0, le=2**53 - 1)
    root_hash: str = Field(pattern=_HEX_HASH.pattern, description="hex SHA-256 root")
    timestamp: int = Field(ge=0, le=2**53 - 1, description="milliseconds since the epoch")
    jws: str = Field(description="compact JWS signed by the node (typ joinedup-sth+jwt)")

    @property
    def root(self) -> bytes:
        return bytes.fromhex(self.root_hash)


class InclusionProof(BaseModel):
    """An audit path (RFC 9162 §2.1.3) for the leaf at ``index`` in a tree of ``tree_size``."""

    index: int = Field(ge=0)
    tree_size: int = Field(ge=1)
    leaf_hash: str = Field(pattern=_HEX_HASH.pattern)
    proof: list[str] = Field(max_length=_MAX_PROOF)


class ConsistencyProof(BaseModel):
    """A consistency proof (RFC 9162 §2.1.4) from ``first`` to ``second``."""

    first: int = Field(ge=0)
    second: int = Field(ge=0)
    proof: list[str] = Field(max_length=2 * _MAX_PROOF)


def sign_tree_head(
    *, keys: MemberKeys, org_id: str, tree_size: int, root_hash: bytes | str, timestamp: int
) -> SignedTreeHead:
    """Sign (size, root, time) as a JWS with the member's Ed25519 key."""
    root_hex = root_hash.hex() if isinstance(root_hash, bytes) else root_hash
    claims = {
        "iss": org_id,
        "tree_size": tree_size,
        "root_hash": root_hex,
        "timestamp": timestamp,
    }
    jws = sign_jwt(claims, keys.signing_key, typ=STH_TYP)
    return SignedTreeHead(
        org_id=org_id, tree_size=tree_size, root_hash=root_hex, timestamp=timestamp, jws=jws
    )


def verify_tree_head(
    sth_jws: str, verify_keys: list[VerifyKey] | VerifyKey, *, org_id: str | None = None
) -> SignedTreeHead:
    """Check the signature (and issuer, if given); raise ``PeerSignatureInvalid`` if bad."""
    claims: dict[str, Any] = verify_jwt(sth_jws, verify_keys, typ=STH_TYP)
    try:
        sth = SignedTreeHead.model_validate(
            {
                "org_id": claims.get("iss"),
                "tree_size": claims.get("tree_size"),
                "root_hash": claims.get("root_hash"),
                "timestamp": claims.get("timestamp"),
                "jws": sth_jws,
            }
        )
    except ValidationError as exc:
        raise PeerSignatureInvalid("tree head claims malformed") from exc
    if org_id is not None and sth.org_id != org_id:
        raise PeerSignatureInvalid("tree head signed for another member")
    return sth


def _hashes(hex_list: Sequence[str]) -> list[bytes] | None:
    if len(hex_list) > 2 * _MAX_PROOF:
        return None
    out = []
    for item in hex_list:
        if not isinstance(item, str) or not _HEX_HASH.match(item):
            return None
        out.append(bytes.fromhex(item))
    return out


def check_inclusion(
    *,
    entry: Mapping[str, Any],
    index: int,
    proof: Sequence[str],
    tree_head: SignedTreeHead,
) -> bool:
    """True iff ``entry`` (its canonical JSON) is leaf ``index`` of the signed tree."""
    hashes = _hashes(proof)
    if hashes is None:
        return False
    try:
        digest = entry_leaf_hash(entry)
    except ValueError:
        return False
    return verify_inclusion(
        leaf_hash=digest,
        index=index,
        tree_size=tree_head.tree_size,
        proof=hashes,
        root=tree_head.root,
    )


def check_consistency(*, old: SignedTreeHead, new: SignedTreeHead, proof: Sequence[str]) -> bool:
    """True iff the log signed in ``old`` is a prefix of the one signed in ``new``."""
    hashes = _hashes(proof)
    if hashes is None or old.org_id != new.org_id:
        return False
    return verify_consistency(
        old_size=old.tree_size,
        new_size=new.tree_size,
        old_root=old.root,
        new_root=new.root,
        proof=hashes,
    )


def check_proven_entries(
    proven: Mapping[str, Any], verify_keys: list[VerifyKey], *, org_id: str
) -> list[dict[str, Any]]:
    """Check a node's ``{"org_id", "tree_head", "entries": [{"entry", "proof"}]}`` answer.

    The tree head must be signed by ``org_id`` (its registry keys) and every entry
    must carry an inclusion proof against it; returns the entries, or raises
    ``PeerSignatureInvalid`` naming the first that fails. This is how a customer's
    access report or a request trace is assembled from many nodes without trusting
    any of them (DESIGN "Audit").
    """
    if proven.get("org_id") != org_id:
        raise PeerSignatureInvalid("audit answer is for another member")
    entries = proven.get("entries")
    if not isinstance(entries, list):
        raise PeerSignatureInvalid("audit answer has no entry list")
    head_doc = proven.get("tree_head")
    if head_doc is None:
        if entries:
            raise PeerSignatureInvalid("audit entries without a signed tree head")
        return []
    if not isinstance(head_doc, Mapping) or not isinstance(head_doc.get("jws"), str):
        raise PeerSignatureInvalid("audit answer's tree head is malformed")
    head = verify_tree_head(head_doc["jws"], verify_keys, org_id=org_id)
    checked: list[dict[str, Any]] = []
    for item in entries:
        entry = item.get("entry") if isinstance(item, Mapping) else None
        proof = item.get("proof") if isinstance(item, Mapping) else None
        if not isinstance(entry, dict) or not isinstance(proof, Mapping):
            raise PeerSignatureInvalid("audit answer has a malformed entry")
        index = entry.get("seq")
        path = proof.get("proof")
        if (
            type(index) is not int
            or proof.get("index") != index
            or proof.get("tree_size") != head.tree_size
            or not isinstance(path, list)
            or not check_inclusion(entry=entry, index=index, proof=path, tree_head=head)
        ):
            raise PeerSignatureInvalid(f"audit entry {index!r} from {org_id} fails its proof")
        checked.append(entry)
    return checked


class ProvenSection(BaseModel):
    """One member's answer: its proof-checked entries, or why there are none."""

    org_id: str
    status: Literal["ok", "refused", "unavailable", "invalid"]
    detail: str | None = None
    tree_size: int | None = Field(default=None, description="signed head the proofs used")
    entries: list[dict[str, Any]] = Field(default_factory=list)
    truncated: bool = Field(default=False, description="the member had more entries to give")


async def collect_proven_entries(
    *,
    client: httpx.AsyncClient,
    registry: Registry,
    keys: MemberKeys,
    me: str,
    message: AuditTrace | AuditSubjectReport,
    deadline_s: float,
    exclude: frozenset[str] = frozenset(),
) -> list[ProvenSection]:
    """Ask every organisation concurrently; check every entry against its signed head.

    A member that does not answer within ``deadline_s`` is ``unavailable``; one that
    refuses is ``refused``; one whose answer fails any check (envelope, seal, tree
    head signature, an inclusion proof) is ``invalid`` and none of its entries is
    kept: an unchecked entry is never shown.
    """
    members = [m for m in registry.organisations() if m.org_id not in exclude]
    return list(
        await asyncio.gather(
            *[
                _ask(client, registry, keys, me, m.org_id, m.base_url, message, deadline_s)
                for m in members
            ]
        )
    )


async def _ask(
    client: httpx.AsyncClient,
    registry: Registry,
    keys: MemberKeys,
    me: str,
    org_id: str,
    base_url: str,
    message: AuditTrace | AuditSubjectReport,
    deadline_s: float,
) -> ProvenSection:
    jti = new_request_id()
    token = sign_request(message, keys=keys, issuer=me, audience=org_id, request_id=jti)
    url = base_url.rstrip("/") + AUDIT_PATHS[message.action]
    try:
        response = await asyncio.wait_for(
            client.post(url, json={"request": token}, timeout=deadline_s), timeout=deadline_s
        )
    except (TimeoutError, httpx.HTTPError):
        return ProvenSection(org_id=org_id, status="unavailable", detail="no answer in time")
    if response.status_code != 200:
        return ProvenSection(
            org_id=org_id, status="refused", detail=f"answered {response.status_code}"
        )
    try:
        opened = open_response(
            str(response.json()["response"]),
            registry=registry,
            keys=keys,
            me=me,
            expected_issuer=org_id,
            request_id=jti,
        )
        entries = check_proven_entries(opened, registry.verify_keys(org_id), org_id=org_id)
    except Exception as exc:  # a partner's answer is never trusted, never shown unchecked
        log.warning("audit answer rejected", extra={"org": org_id, "exc": type(exc).__name__})
        return ProvenSection(org_id=org_id, status="invalid", detail="answer failed its checks")
    head = opened.get("tree_head") or {}
    size = head.get("tree_size") if isinstance(head, Mapping) else None
    return ProvenSection(
        org_id=org_id,
        status="ok",
        tree_size=size if isinstance(size, int) else None,
        entries=entries,
        truncated=opened.get("truncated") is True,
    )


@dataclass(frozen=True)
class MissingPart:
    """A member whose part of a report could not be fetched, and why."""

    org_id: str
    status: str  # unavailable, refused or invalid (ProvenSection.status)


@dataclass(frozen=True)
class AccessReport:
    """Proof-checked entries about one subject, and the members that are missing."""

    entries: list[dict[str, Any]] = field(default_factory=list)
    missing: list[MissingPart] = field(default_factory=list)
    truncated: list[str] = field(default_factory=list)  # members with more than they sent

    @property
    def complete(self) -> bool:
        return not self.missing and not self.truncated


async def subject_access_report(
    *,
    client: httpx.AsyncClient,
    registry: Registry,
    keys: MemberKeys,
    me: str,
    subject_id: str,
    deadline_s: float,
) -> AccessReport:
    """A customer's access report across the federation, as the consent service needs it.

    One item per proof-checked entry about ``subject_id``: the entry's fields, plus
    ``org_id`` (who accessed: the entry's actor), ``logged_by`` (the node whose log
    holds it) and ``proof_ok`` (always true: unchecked entries are dropped). A member
    that did not answer, refused, or sent an answer that failed its checks gives no
    entries and is listed in ``missing``, so a report never looks more complete
    than it is.
    """
    sections = await collect_proven_entries(
        client=client,
        registry=registry,
        keys=keys,
        me=me,
        message=AuditSubjectReport(subject_id=subject_id),
        deadline_s=deadline_s,
    )
    report = AccessReport()
    for section in sections:
        if section.status != "ok":
            # Ids and a status only: the subject is personal data and stays out of logs.
            log.warning(
                "access report incomplete", extra={"org": section.org_id, "status": section.status}
            )
            report.missing.append(MissingPart(org_id=section.org_id, status=section.status))
            continue
        if section.truncated:
            report.truncated.append(section.org_id)
        for entry in section.entries:
            if entry.get("subject_id") != subject_id:
                continue  # a node answering for someone else is ignored, never shown
            report.entries.append(
                {
                    **entry,
                    "org_id": entry.get("actor_org"),
                    "logged_by": section.org_id,
                    "proof_ok": True,
                }
            )
    return report

"""Regenerate the worked examples in docs/protocol.md from real keys and real code.

Every example is produced by the functions the nodes use (``sign_registry``,
``sign_request``, ``seal_response``, ``issue_consent_token``...) and then checked by
the functions that verify them (``verify_registry``, ``verify_request``,
``open_response``, ``verify_consent_token``), so the document cannot drift from the
code. Keys are derived from fixed seeds and times are fixed, so reruns are stable
except for sealed boxes (each uses a fresh ephemeral key, by design).

    .venv/bin/python docs/examples/protocol_examples.py   # rewrites docs/protocol.md
"""

from __future__ import annotations

import hashlib
import json
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from nacl.public import PrivateKey  # noqa: E402
from nacl.signing import SigningKey  # noqa: E402

from federation.consent_token import (  # noqa: E402
    ConsentProvisionClaim,
    RevocationSet,
    issue_consent_token,
    verify_consent_token,
)
from federation.envelope import (  # noqa: E402
    ReplayCache,
    open_response,
    seal_response,
    sign_request,
    verify_request,  # noqa: E402
)
from federation.jose import read_unverified_claims, read_unverified_header  # noqa: E402
from federation.keys import MemberKeys  # noqa: E402
from federation.linkage import LinkageKey, linkage_tokens  # noqa: E402
from federation.registry import Member, RegistryDocument, sign_registry, verify_registry  # noqa: E402
from federation.share_schema import (  # noqa: E402
    SharedAction,
    SharedContact,
    ShareDecisionSummary,
    SharedNeed,
    SharedSection,
    ShareRequestBody,
    WithheldNotice,
)

DOC = Path(__file__).resolve().parents[1] / "protocol.md"
BEGIN, END = "<!-- examples:begin -->", "<!-- examples:end -->"
NOW = 1_795_500_000  # a fixed instant (2026-11-23T...Z) so the examples are stable


def seeded_keys(name: str) -> MemberKeys:
    seed = hashlib.sha256(f"joinedup-example-{name}".encode()).digest()
    enc = hashlib.sha256(f"joinedup-example-enc-{name}".encode()).digest()
    return MemberKeys(SigningKey(seed), PrivateKey(enc))


def block(language: str, text: str) -> str:
    return f"```{language}\n{text}\n```\n"


def pretty(value: Any) -> str:
    return json.dumps(value, indent=2, sort_keys=False)


def decoded(token: str) -> str:
    return pretty(
        {"header": read_unverified_header(token), "claims": read_unverified_claims(token)}
    )


def main() -> None:
    authority = SigningKey(hashlib.sha256(b"joinedup-example-authority").digest())
    keys = {name: seeded_keys(name) for name in ("council", "gp", "consent")}
    members = [
        Member(
            org_id=org,
            name=name,
            kind=kind,
            base_url=url,  # type: ignore[arg-type]
            verify_keys=[keys[org].verify_key_b64],
            encryption_key=keys[org].public_key_b64,
        )
        for org, name, kind, url in [
            ("consent", "Consent service", "consent_service", "https://consent.riverside.example"),
            ("council", "Riverside Council", "council", "https://node.council.riverside.example"),
            ("gp", "Riverside GP", "gp", "https://node.gp.riverside.example"),
        ]
    ]
    document = RegistryDocument(
        federation="riverside",
        version=3,
        issued_at=datetime.fromtimestamp(NOW, UTC),
        members=members,
    )
    signed_registry = sign_registry(document, authority)
    registry = verify_registry(signed_registry, authority.verify_key)

    provisions = [
        ConsentProvisionClaim(
            consent_id="cns_5Jx2kQ",
            purposes=["care_coordination"],
            recipients=["council"],
            categories=["physical_health", "contact_details"],
            actions=["read"],
            period_end=None,
        )
    ]
    consent_token = issue_consent_token(
        keys=keys["consent"],
        subject_id="sub_q3V9yT0b",
        requester="council",
        purpose="care_coordination",
        provisions=provisions,
        max_age_s=30,
        now=NOW,
    )
    verify_consent_token(
        consent_token,
        verify_keys=registry.verify_keys("consent"),
        requester="council",
        subject_id="sub_q3V9yT0b",
        purpose="care_coordination",
        revocations=RevocationSet(),
        now=NOW + 1,
    )

    share_body = ShareRequestBody(
        subject_id="sub_q3V9yT0b",
        purpose="care_coordination",
        categories=["physical_health", "mental_health", "contact_details"],
        staff_role="coordinator",
        staff_pseudonym="stf_4e1f0c9a2b7d",
        consent_token=consent_token,
        emergency=None,
        view_id="view_Yk2mF8",
    ).model_dump(mode="json")
    share_request = sign_request(
        keys=keys["council"],
        issuer="council",
        audience="gp",
        action="share",
        body=share_body,
        ttl_s=30,
        request_id="req_Pq7aZ3mB",
        now=NOW,
    )
    cache = ReplayCache()
    cache.not_before = 0  # the example is in the past; a live node refuses that
    verified = verify_request(
        share_request,
        registry=registry,
        audience="gp",
        replay_cache=cache,
        expected_action="share",
        now=NOW + 1,
    )

    section = SharedSection(
        org_id="gp",
        org_name="Riverside GP",
        org_kind="gp",
        subject_id="sub_q3V9yT0b",
        known=True,
        decision=ShareDecisionSummary(
            allow=True,
            categories=["contact_details", "physical_health"],
            withheld=[
                WithheldNotice(
                    category="mental_health",
                    reason="the customer has not consented to this recipient seeing this "
                    "category for this purpose",
                )
            ],
            obligations=[],
            reasons=[
                "contact_details: released with the customer's consent under a sharing agreement",
                "physical_health: released with the customer's consent under a sharing agreement",
            ],
        ),
        needs=[
            SharedNeed(
                ref="gp:need:12",
                category="physical_health",
                description="",
                severity="high",
                status="open",
                since="2026-10-01",
                withheld_fields=["clinical_notes"],
            )
        ],
        actions=[
            SharedAction(
                ref="gp:action:3",
                category="physical_health",
                what="Diabetes review",
                owner="Dr Patel",
                status="active",
                due="2026-12-01",
            )
        ],
        contacts=[
            SharedContact(
                worker_name="Dr Patel",
                role="GP",
                how_to_reach="Surgery, weekdays 8-6",
                organisation="Riverside GP",
            )
        ],
    ).model_dump(mode="json")
    sealed = seal_response(
        keys=keys["gp"],
        issuer="gp",
        audience="council",
        request_id=verified.request_id,
        body=section,
        recipient_key=registry.public_key("council"),
        now=NOW + 1,
    )
    assert (
        open_response(
            sealed,
            registry=registry,
            keys=keys["council"],
            me="council",
            expected_issuer="gp",
            request_id="req_Pq7aZ3mB",
            now=NOW + 2,
        )
        == section
    )

    tokens = linkage_tokens(
        key=LinkageKey(1, hashlib.sha256(b"joinedup-example-linkage").digest()),
        family_name="Okafor",
        given_name="Grace",
        date_of_birth=datetime(1971, 3, 4).date(),
        postcode="RV1 2AB",
        national_number="943 476 5919",
    )
    link_request = sign_request(
        keys=keys["council"],
        issuer="council",
        audience="gp",
        action="link",
        body={"subject_id": "sub_q3V9yT0b", "linkage_tokens": tokens},
        ttl_s=30,
        request_id="req_L1nk9x",
        now=NOW,
    )
    revocation = sign_request(
        keys=keys["consent"],
        issuer="consent",
        audience="gp",
        action="revoke",
        body={"consent_id": "cns_5Jx2kQ", "subject_id": "sub_q3V9yT0b", "revoked_at": NOW},
        ttl_s=30,
        request_id="req_R3v0k3",
        now=NOW,
    )
    for token, action in ((link_request, "link"), (revocation, "revoke")):
        verify_request(
            token,
            registry=registry,
            audience="gp",
            replay_cache=cache,
            expected_action=action,
            now=NOW + 1,
        )

    parts = [
        "All examples below were generated by `docs/examples/protocol_examples.py` with "
        "real keys (derived from fixed seeds) and checked by the verifying functions. "
        f"Times are fixed at `iat` = {NOW}.\n",
        "### Signed member registry\n",
        "The file a node loads (`registry_path`); `signature` is a JWS over exactly the "
        "`registry` object, signed by the authority key:\n",
        block("json", pretty(signed_registry)),
        f"Authority verify key (b64url, `authority_verify_key`): "
        f"`{MemberKeys(authority, PrivateKey.generate()).verify_key_b64}`\n",
        "### Consent token\n",
        block("text", consent_token),
        "decoded:\n",
        block("json", decoded(consent_token)),
        "### Signed request (share)\n",
        "HTTP: `POST https://node.gp.riverside.example/federation/share` with body "
        '`{"request": "<JWT>"}` where the JWT is:\n',
        block("text", share_request),
        "decoded (the `body` claim is the share request body):\n",
        block("json", decoded(share_request)),
        "### Share request body\n",
        block("json", pretty(share_body)),
        "### Sealed response\n",
        'HTTP 200 `{"response": "<JWT>"}`:\n',
        block("text", sealed),
        "decoded envelope (`sealed` is a libsodium sealed box to the council's X25519 "
        "key, base64url):\n",
        block("json", decoded(sealed)),
        "the sealed body, as the council opens it (`open_response`):\n",
        block("json", pretty(section)),
        "### Link request\n",
        "`POST https://node.gp.riverside.example/federation/link`, "
        '`{"request": "<JWT>"}`; decoded:\n',
        block("json", decoded(link_request)),
        'answer (plain JSON, no personal data): `{"status": "linked"}` — or '
        '`"queued"`, `"no_match"`, `"already_linked"`.\n',
        "### Revocation event\n",
        "`POST https://node.gp.riverside.example/federation/revocations` from the consent "
        'service, `{"request": "<JWT>"}`; decoded:\n',
        block("json", decoded(revocation)),
        'answer: `{"status": "recorded"}`.\n',
    ]
    generated = "\n".join(parts)
    text = DOC.read_text()
    head, _, rest = text.partition(BEGIN)
    _, _, tail = rest.partition(END)
    DOC.write_text(f"{head}{BEGIN}\n{generated}\n{END}{tail}")
    sys.stdout.write(f"rewrote the examples in {DOC}\n")


if __name__ == "__main__":
    main()

"""Regenerate the worked examples in docs/protocol.md from real keys and real code.

Every message is produced by the functions the members use (``sign_registry``,
``sign_request`` over each action's ``federation.wire`` model, ``seal_response``,
``issue_consent_token``, ``sign_tree_head``, the RFC 9162 Merkle tree of
``federation.merkle``) and checked at once by the
functions the receivers use (``verify_registry``, ``verify_request`` plus the
receiving endpoint's body schema, ``open_response``, ``verify_consent_token``,
``check_proven_entries``); answers are built with the answering service's response
schemas (example_federation.py, example_data.py). Keys come from fixed seeds and
times are fixed, so reruns are stable except for the consent token's random ``jti``
and the sealed boxes (each uses a fresh ephemeral key, by design).
tests/docs/test_protocol_examples.py re-runs this script and re-verifies every token
printed in docs/protocol.md.

    .venv/bin/python docs/examples/protocol_examples.py           # rewrites docs/protocol.md
    .venv/bin/python docs/examples/protocol_examples.py --stdout  # prints the examples only
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE.parents[1]), str(HERE)]

from example_data import (  # noqa: E402
    CONSENT_ID,
    GRANTED_PROVISION,
    LINK_ENTRY,
    REVOCATION_ENTRY,
    SHARE_ENTRY,
    STAFF,
    SUBJECT,
    VIEW_ID,
    consent_public,
    gp_section,
    linkage_example,
)
from example_federation import (  # noqa: E402
    ENDPOINTS,
    NOW,
    URLS,
    AuditLog,
    Federation,
    authority_key,
)
from nacl.public import PrivateKey  # noqa: E402

from consent.customers.schemas import ActivationPublic, RecoveryCodePublic  # noqa: E402
from consent.notices.schemas import NoticePublic  # noqa: E402
from consent.subjects.schemas import EnrolmentPublic  # noqa: E402
from consent.tokens.schemas import ConsentTokenPublic  # noqa: E402
from federation.consent_token import (  # noqa: E402
    ConsentProvisionClaim,
    RevocationSet,
    issue_consent_token,
    verify_consent_token,
)
from federation.enrolment import (  # noqa: E402
    issue_enrolment_statement,
    verify_enrolment_statement,
)
from federation.evidence import EvidenceQuery  # noqa: E402
from federation.jose import read_unverified_claims, read_unverified_header  # noqa: E402
from federation.keys import MemberKeys  # noqa: E402
from federation.secure_sum import masked_vector  # noqa: E402
from federation.share_schema import LinkResponse  # noqa: E402
from federation.tree_head import check_proven_entries  # noqa: E402
from federation.wire import WireMessage  # noqa: E402
from federation.wire.audit import AuditSubjectReport, AuditTrace  # noqa: E402
from federation.wire.consent import GrantConsent, GrantProvision, RevokeConsent  # noqa: E402
from federation.wire.consent_change import ConsentGranted  # noqa: E402
from federation.wire.customer import CustomerCreate, CustomerRecover  # noqa: E402
from federation.wire.enrol import EnrolRequest  # noqa: E402
from federation.wire.evidence import (  # noqa: E402
    AggregateContribute,
    AggregateContribution,
    AggregateJoin,
    AggregateJoined,
)
from federation.wire.guide import GuideAnnounce  # noqa: E402
from federation.wire.notice import NoticeCreate  # noqa: E402
from federation.wire.referral import (  # noqa: E402
    ReferralAcknowledgement,
    ReferralOffer,
    ReferralRequester,
    ReferralStatus,
)
from federation.wire.revocation import RevocationPush  # noqa: E402
from federation.wire.share import LinkRequest, ShareRequest  # noqa: E402
from federation.wire.token import ConsentTokenAsk  # noqa: E402
from node.guide.schemas import AnnounceReceived  # noqa: E402
from node.referrals.schemas import StatusReceived  # noqa: E402
from node.revocations.schemas import RevocationRecorded  # noqa: E402

DOC = HERE.parent / "protocol.md"
REFERRAL_CONSENT_ID = "cns_8Rf2mT"  # a second consent of Grace's: referrals for her mood
BEGIN, END = "<!-- examples:begin -->", "<!-- examples:end -->"


def block(language: str, text: str) -> str:
    return f"```{language}\n{text}\n```\n"


def pretty(value: Any) -> str:
    return json.dumps(value, indent=2, ensure_ascii=False)


def decoded(token: str) -> dict[str, Any]:
    return {"header": read_unverified_header(token), "claims": read_unverified_claims(token)}


def answer_json(status: int, body: dict[str, Any], note: str = "") -> str:
    return f"Answer: HTTP {status}{note}\n\n" + block("json", pretty(body))


class Story:
    """One customer's path through the federation, told as the messages it takes."""

    def __init__(self) -> None:
        self.fed = Federation.build()
        self.gp_log = AuditLog(self.fed.keys["gp"])
        self.parts: list[str] = []

    def request(
        self,
        title: str,
        intro: str,
        *,
        route: tuple[str, str],
        message: WireMessage,
        jti: str,
        at: int,
        answer: str,
        deadline: float | None = None,
        idempotency_key: str | None = None,
    ) -> str:
        """Sign and verify one request; add its section (decoded JWT and the answer)."""
        sender, receiver = route
        action = type(message).action
        token = self.fed.request(
            sender=sender,
            receiver=receiver,
            message=message,
            jti=jti,
            at=at,
            deadline=deadline,
            idempotency_key=idempotency_key,
        )
        self.parts += [f"### {title} (`{action}`)\n", intro + "\n"]
        url = f"`POST {URLS[receiver]}{ENDPOINTS[action]}`"
        self.parts += [
            f'{url} with body `{{"request": "<JWT>"}}` where the JWT is:\n',
            block("text", token),
            "decoded:\n",
        ]
        self.parts += [block("json", pretty(decoded(token))), answer.rstrip("\n") + "\n"]
        return token

    def sealed(
        self, holder: str, requester: str, request: str, body: dict[str, Any], at: int
    ) -> None:
        """Seal ``body`` as the answer to ``request``; add the JWT, envelope and opened body."""
        token = self.fed.sealed(
            holder=holder, requester=requester, request=request, body=body, at=at
        )
        names = {"gp": "GP", "council": "council", "consent": "consent service"}
        self.parts += [
            'HTTP 200 `{"response": "<JWT>"}` where the JWT is:\n',
            block("text", token),
            f"decoded envelope (`sealed` is a libsodium sealed box to the {names[requester]}'s "
            f"X25519 key, base64url; the JWS is signed by the {names[holder]}):\n",
            block("json", pretty(decoded(token))),
            f"the sealed body, as the {names[requester]} opens it (`open_response`):\n",
            block("json", pretty(body)),
        ]

    def registry(self) -> None:
        authority = MemberKeys(authority_key(), PrivateKey.generate()).verify_key_b64
        self.parts += [
            "### Signed member registry\n",
            "The file a member loads (`registry_path`); `signature` is a JWS over exactly "
            "the `registry` object, signed by the authority key:\n",
            block("json", pretty(self.fed.signed_registry)),
            f"Authority verify key (b64url, `authority_verify_key`): `{authority}`\n",
        ]

    def enrolment(self) -> None:
        tokens = linkage_example()
        statement = issue_enrolment_statement(
            keys=self.fed.keys["consent"],
            subject_id=SUBJECT,
            enrolled_by="council",
            linkage_tokens=tokens,
            now=NOW,
        )
        # The GP checks it as it would a real link request.
        verify_enrolment_statement(
            statement,
            registry=self.fed.registry,
            subject_id=SUBJECT,
            requester="council",
            linkage_tokens=tokens,
            now=NOW + 1,
        )
        enrolled = EnrolmentPublic(
            subject_id=SUBJECT, created=True, enrolment=statement
        ).model_dump()
        self.request(
            "Enrolment",
            "Staff at the council enrol Grace (`POST /persons/{person_id}/enrol`); the "
            "council's node asks the consent service for her `subject_id`. Only linkage "
            "tokens travel (`v1.nn` from her national number, `v1.dem` from name, date of "
            "birth and postcode).",
            route=("council", "consent"),
            message=EnrolRequest(linkage_tokens=tokens),
            jti="req_Enr0l1",
            at=NOW,
            answer=answer_json(
                200,
                enrolled,
                " (plain JSON, `EnrolmentPublic`; `created` is false when the consent "
                "service already knew her; `enrolment` is the consent service's signed "
                "statement that these tokens are this subject's, typ "
                "`joinedup-enrolment+jwt`, valid 300 s):",
            )
            + "\nthe enrolment statement decoded:\n"
            + block("json", pretty(decoded(statement))),
        )
        self.request(
            "Link request",
            "The council's node then asks every other organisation to link the new "
            "subject to its own record of the same person, attaching the consent "
            "service's enrolment statement; a partner refuses a link request without a "
            "valid one (403 `enrolment-invalid`).",
            route=("council", "gp"),
            message=LinkRequest(subject_id=SUBJECT, linkage_tokens=tokens, enrolment=statement),
            jti="req_L1nk9x",
            at=NOW + 1,
            answer=answer_json(
                200,
                LinkResponse(status="received").model_dump(),
                " (plain JSON, always `received`: whether the GP linked, queued or matched "
                "nobody is in its own audit log, never told to the requester):",
            ),
        )
        self.gp_log.append(at=NOW + 1, **LINK_ENTRY)
        activation = ActivationPublic(
            username="grace.okafor",
            activation_code="Yq3pV0-example-one-time-code-8sKd",
            expires_at=NOW + 2 + 7 * 24 * 3600,
        ).model_dump()
        self.request(
            "Customer account",
            "The council's node opens a consent-portal account for Grace.",
            route=("council", "consent"),
            message=CustomerCreate(subject_id=SUBJECT, username="grace.okafor"),
            jti="req_Cust7w",
            at=NOW + 2,
            answer=answer_json(
                201,
                activation,
                " (`ActivationPublic`; the one-time code is handed to Grace, who sets a "
                "password with `POST /customer/activate`):",
            ),
        )
        recovery = RecoveryCodePublic(
            username="grace.okafor",
            recovery_code="Wm5tR2-example-one-time-code-4hQa",
            expires_at=NOW + 2 + 24 * 3600,
        ).model_dump()
        self.request(
            "Customer recovery",
            "Should Grace later forget her password, or be locked out after failed "
            "sign-ins, the council, which enrolled her, asks for a one-time recovery code "
            "(a member that did not enrol her gets 403).",
            route=("council", "consent"),
            message=CustomerRecover(subject_id=SUBJECT),
            jti="req_Rcvr5m",
            at=NOW + 2,
            answer=answer_json(
                201,
                recovery,
                " (`RecoveryCodePublic`; the council hands the code to Grace, who sets a new "
                "password with it at `/portal/recover` or `POST /customer/activate`):",
            ),
        )
        grant = GrantConsent(
            subject_id=SUBJECT,
            grantor_kind="customer",
            provisions=[GrantProvision.model_validate(GRANTED_PROVISION)],
        )
        self.request(
            "Grant recorded at a member",
            "Grace, present at the council, consents; the council records it on her behalf "
            "(the body is a `GrantConsent`). Customers also grant for themselves in the "
            "portal (`POST /me/consents`, which is not a member-to-member message).",
            route=("council", "consent"),
            message=grant,
            jti="req_Grnt2k",
            at=NOW + 3,
            answer=answer_json(
                201,
                consent_public(status="active", at=NOW + 3, updated=NOW + 3),
                " (`ConsentPublic`):",
            ),
        )
        notice = ConsentGranted(consent_id=CONSENT_ID, subject_id=SUBJECT, granted_at=NOW + 3)
        self.request(
            "Grant notice",
            "Before it answers the council, the consent service tells every organisation "
            "that Grace's consents changed (through its outbox, retried), so a requester "
            "that kept a consent token for her asks for a fresh one at its next view.",
            route=("consent", "council"),
            message=notice,
            jti="req_Grnt0t",
            at=NOW + 3,
            answer=answer_json(200, RevocationRecorded().model_dump(), ":"),
        )

    def view(self) -> None:
        consent_token = issue_consent_token(
            keys=self.fed.keys["consent"],
            subject_id=SUBJECT,
            requester="council",
            purpose="care_coordination",
            provisions=[ConsentProvisionClaim(consent_id=CONSENT_ID, **GRANTED_PROVISION)],
            max_age_s=30,
            now=NOW + 20,
        )
        verify_consent_token(
            consent_token,
            verify_keys=self.fed.registry.verify_keys("consent"),
            requester="council",
            subject_id=SUBJECT,
            purpose="care_coordination",
            revocations=RevocationSet(),
            now=NOW + 21,
        )
        self.request(
            "Consent-token request",
            "A coordinator at the council asks for a joined-up view of Grace; the council's "
            "node first asks the consent service for a consent token for that purpose.",
            route=("council", "consent"),
            message=ConsentTokenAsk(subject_id=SUBJECT, purpose="care_coordination"),
            jti="req_T0ken5",
            at=NOW + 20,
            answer=answer_json(
                200,
                ConsentTokenPublic(token=consent_token, expires_at=NOW + 50).model_dump(),
                " (`ConsentTokenPublic`):",
            ),
        )
        self.parts += [
            "### Consent token\n",
            "The `token` above, signed by the consent service and verified offline by "
            "every partner (`verify_consent_token`), decoded:\n",
            block("json", pretty(decoded(consent_token))),
        ]
        message = ShareRequest(
            subject_id=SUBJECT,
            purpose="care_coordination",
            categories=["physical_health", "mental_health", "contact_details"],
            staff_role="coordinator",
            staff_pseudonym=STAFF,
            consent_token=consent_token,
            emergency=None,
            view_id=VIEW_ID,
        )
        share = self.request(
            "Share request",
            "The council's node asks the GP's node (and every other partner, concurrently) "
            "for its section of the view; the `body` is a `ShareRequestBody` carrying the "
            "consent token, and `deadline` is when the council stops waiting (the view's "
            "2 s share deadline): a GP still busy with it after that releases nothing.",
            route=("council", "gp"),
            message=message,
            jti="req_Pq7aZ3mB",
            at=NOW + 21,
            deadline=NOW + 22.75,
            answer="Answer: sealed and signed.\n",
        )
        self.sealed("gp", "council", share, gp_section(), NOW + 21)
        self.gp_log.append(at=NOW + 21, **SHARE_ENTRY)

    def referral(self) -> None:
        referral_id = "7c1e4b9a2f6d48e0b3a5c8d1e9f20a64"
        provision = {
            "purposes": ["referral"],
            "recipients": ["council"],
            "categories": ["mental_health"],
            "actions": ["refer"],
        }
        consent_token = issue_consent_token(
            keys=self.fed.keys["consent"],
            subject_id=SUBJECT,
            requester="council",
            purpose="referral",
            provisions=[ConsentProvisionClaim(consent_id=REFERRAL_CONSENT_ID, **provision)],
            max_age_s=30,
            now=NOW + 40,
        )
        sent_at = datetime.fromtimestamp(NOW + 40, UTC)
        offer = ReferralOffer(
            referral_id=referral_id,
            subject_id=SUBJECT,
            linkage_tokens=linkage_example(),
            category="mental_health",
            purpose="referral",
            urgency="urgent",
            reason="Grace is finding it hard to cope since the eviction notice and asked "
            "to see someone about her low mood.",
            person_told="That her GP practice will call her within a working day.",
            contact_preferences="Phone after 4 pm.",
            consent_token=consent_token,
            requester=ReferralRequester(role="frontline", description="frontline", pseudonym=STAFF),
            sent_at=sent_at,
        )
        offer_token = self.request(
            "Referral",
            "The council's housing officer refers Grace to her GP practice "
            "(`POST /api/referrals`). The referral waits in the council's outbox; each "
            "delivery attempt fetches a fresh consent token (for the `refer` action) and "
            "is a new signed request with the same `idempotency_key`, the referral id, so "
            "a retry is never a second referral. The GP decides with `joinedup.act`.",
            route=("council", "gp"),
            message=offer,
            jti="req_R3f3r1",
            at=NOW + 41,
            idempotency_key=referral_id,
            answer="Answer: sealed and signed (a refusal says `declined_by_policy` and "
            "nothing else).\n",
        )
        self.parts += [
            "the fresh consent token in its `consent_token`, decoded (a provision of the "
            "`refer` action for the purpose `referral`):\n",
            block("json", pretty(decoded(consent_token))),
        ]
        ack = ReferralAcknowledgement(referral_id=referral_id, state="received")
        self.sealed("gp", "council", offer_token, ack.model_dump(mode="json"), NOW + 41)
        status = ReferralStatus(
            referral_id=referral_id,
            seq=2,
            to_state="accepted",
            worker="Dr Amira Haddad",
            at=datetime.fromtimestamp(NOW + 50, UTC),
        )
        self.request(
            "Referral status",
            "A GP receptionist accepts the referral for a named worker; the GP's outbox "
            "tells the council (`idempotency_key` is the referral id and the change's "
            "number at the GP). Later changes (completed, with an outcome) travel the "
            "same way, and so does a withdrawal from the council to the GP.",
            route=("gp", "council"),
            message=status,
            jti="req_St4tus",
            at=NOW + 51,
            idempotency_key=f"{referral_id}:2",
            answer=answer_json(200, StatusReceived().model_dump(), " (plain JSON):"),
        )

    def trace(self) -> None:
        trace = self.request(
            "Audit trace",
            "An auditor at the council traces the view: the council's node asks every "
            "member for its entries under that request id that concern the council.",
            route=("council", "gp"),
            message=AuditTrace(request_id=VIEW_ID, staff_role="auditor"),
            jti="req_Trc8q1",
            at=NOW + 60,
            answer="Answer: sealed and signed (entries name a subject and a purpose).\n",
        )
        proven = self.gp_log.proven(wanted=[1], at=NOW + 60)
        check_proven_entries(proven, self.fed.registry.verify_keys("gp"), org_id="gp")
        self.sealed("gp", "council", trace, proven, NOW + 60)
        self.parts.append(
            "The council checks `tree_head.jws` under the GP's registry key and every "
            "`proof` against that head (`federation.tree_head.check_proven_entries`) "
            "before it shows an entry.\n"
        )

    def revocation(self) -> None:
        self.request(
            "Revocation recorded at a member",
            "Grace withdraws her consent at the council; the council records it.",
            route=("council", "consent"),
            message=RevokeConsent(consent_id=CONSENT_ID),
            jti="req_Rvk4c0",
            at=NOW + 90,
            answer=answer_json(
                200,
                consent_public(status="inactive", at=NOW + 3, updated=NOW + 90),
                " (`ConsentPublic`, now `inactive`; repeating the request answers the same):",
            ),
        )
        self.request(
            "Revocation push",
            "The consent service tells every organisation at once (best effort, retried; "
            "a lost push is covered by the tokens' maximum age).",
            route=("consent", "gp"),
            message=RevocationPush(consent_id=CONSENT_ID, subject_id=SUBJECT, revoked_at=NOW + 90),
            jti="req_R3v0k3",
            at=NOW + 91,
            answer=answer_json(200, RevocationRecorded().model_dump(), ":"),
        )
        self.gp_log.append(at=NOW + 91, **REVOCATION_ENTRY)

    def emergency_notice(self) -> None:
        sent = NoticeCreate(
            subject_id=SUBJECT,
            kind="emergency_access",
            view_id="view_Em3rgencyV1ew0000000x",
            basis="vital_interests",
            purpose="care_coordination",
            holders=["gp"],
            categories=["physical_health"],
            released={"gp": ["physical_health"]},
            occurred_at=datetime(2026, 11, 24, 6, 1, 40, tzinfo=UTC),
        )
        notice = NoticePublic(
            id="ntc_Qm4xV8rT2kLp",
            from_org="council",
            created_at=NOW + 101,
            read=False,
            **sent.model_dump(),
        ).model_dump(mode="json")
        self.request(
            "Emergency-access notice",
            "Another day a council coordinator asks for Grace's records on the emergency "
            "path (vital interests, no consent asked). The GP's policy releases her "
            "physical health with the `notify_customer` obligation, so after the view "
            "the council tells the consent service, which shows Grace the notice in the "
            "portal until she marks it read.",
            route=("council", "consent"),
            message=sent,
            jti="req_N0t1fy",
            at=NOW + 100,
            answer=answer_json(
                201,
                notice,
                " (plain JSON, `NoticePublic`; the same sender and `view_id` again "
                "answers 200 with the same notice):",
            ),
        )

    def access_report(self) -> None:
        report = self.request(
            "Customer access report",
            "Grace signs in to the consent portal and asks who accessed her data; the "
            "consent service asks every organisation for its entries about her.",
            route=("consent", "gp"),
            message=AuditSubjectReport(subject_id=SUBJECT),
            jti="req_Rep6s2",
            at=NOW + 120,
            answer="Answer: sealed and signed, to the consent service.\n",
        )
        proven = self.gp_log.proven(wanted=[0, 1, 2], at=NOW + 120)
        check_proven_entries(proven, self.fed.registry.verify_keys("gp"), org_id="gp")
        self.sealed("gp", "consent", report, proven, NOW + 120)

    def evidence(self) -> None:
        query = EvidenceQuery(
            question="open_needs_by_category_month",
            period_from="2026-09",
            period_to="2026-10",
            categories=["housing", "income"],
            purpose="service_planning",
        )
        query_id, evidence_id = "qry_Ev1d3nceR0und1aaaa", "evd_An4lystAsks00000000"
        join = AggregateJoin(
            query_id=query_id,
            evidence_id=evidence_id,
            attempt=1,
            query=query,
            requester_role="analyst",
            requester_staff="7ab3c9d2e1f04a56",
        )
        self.request(
            "Evidence round 1: join",
            "An analyst at the council asks how many people had open needs by category "
            "and month. The council asks every organisation to take part in this query "
            "(`query_id`, fresh for each attempt); each decides with `joinedup.aggregate` "
            "and audits its decision under the analyst's `evidence_id`. A refusal is "
            "`joined: false` with the policy's reasons.",
            route=("council", "gp"),
            message=join,
            jti="req_Ag6j01n",
            at=NOW + 200,
            answer=answer_json(
                200,
                AggregateJoined(
                    query_id=query_id,
                    joined=True,
                    reasons=[
                        "aggregate evidence allowed: open_needs_by_category_month for "
                        "service_planning"
                    ],
                ).model_dump(),
                " (plain JSON, `AggregateJoined`):",
            ),
        )
        participants = ["council", "gp", "police"]
        contribute = AggregateContribute(query_id=query_id, query=query, participants=participants)
        request = self.request(
            "Evidence round 2: contribute",
            "The GP and the police joined, so the participant set is fixed. Each counts "
            "its own records (housing and income, September and October: four cells), "
            "adds its pairwise masks with the other two participants "
            "(`federation.secure_sum`), and seals the masked vector to the council.",
            route=("council", "gp"),
            message=contribute,
            jti="req_Ag6c0ntr",
            at=NOW + 201,
            answer="Answer: sealed and signed.\n",
        )
        masked = masked_vector(
            [14, 12, 3, 4],
            me="gp",
            my_key=self.fed.keys["gp"].encryption_key,
            participants={org: self.fed.registry.public_key(org) for org in participants},
            query_id=query_id,
        )
        contribution = AggregateContribution(query_id=query_id, masked=masked)
        self.sealed("gp", "council", request, contribution.model_dump(), NOW + 201)
        self.parts.append(
            "The GP's counts (14, 12, 3, 4) appear nowhere: each masked value is uniform "
            "over 0..2^64-1 to anyone without the GP's masks. The council adds the three "
            "vectors modulo 2^64; the masks cancel and only the totals remain, which go "
            "through disclosure control before the analyst sees them (docs/evidence.md).\n"
        )

    def guide_announce(self) -> None:
        self.request(
            "Catalogue announcement",
            "The council publishes a new version of its service catalogue (docs/guide.md) "
            "and tells each partner through its outbox; the GP fetches the signed "
            "catalogue at once with a conditional GET and verifies it, never trusting "
            "the version number.",
            route=("council", "gp"),
            message=GuideAnnounce(version=7),
            jti="req_Gd4nn0",
            at=NOW + 400,
            answer=answer_json(202, AnnounceReceived().model_dump(), ":"),
        )


def build_examples() -> str:
    """Every signed message of the protocol, in the order of one customer's story."""
    story = Story()
    story.parts.append(
        "All examples below were generated by `docs/examples/protocol_examples.py` with "
        "real keys (derived from fixed seeds: these example keys are public, never use "
        "them) and checked by the verifying functions and the receivers' body schemas; "
        "`tests/docs/test_protocol_examples.py` re-verifies every token on this page. "
        "They follow one customer, Grace Okafor, through the Riverside federation: the "
        "council enrols her, she consents, a coordinator views her GP's records, the "
        "council refers her to her GP, an auditor traces that view, she revokes, she "
        "is told of an emergency access, and she reads who accessed her data; an analyst "
        "asks an evidence question, and the council announces a new version of its "
        "service catalogue. "
        f"Times are epoch seconds from `{NOW}` (2026-11-24T06:00:00Z).\n"
    )
    story.registry()
    story.enrolment()
    story.view()
    story.referral()
    story.trace()
    story.revocation()
    story.emergency_notice()
    story.access_report()
    story.evidence()
    story.guide_announce()
    return "\n".join(story.parts)


def rewrite(doc: Path, generated: str) -> None:
    """Replace the text between the examples markers of ``doc`` with ``generated``."""
    text = doc.read_text()
    head, found, rest = text.partition(BEGIN)
    if not found or END not in rest:
        raise SystemExit(f"{doc} has no {BEGIN} ... {END} region")
    _, _, tail = rest.partition(END)
    doc.write_text(f"{head}{BEGIN}\n{generated}\n{END}{tail}")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Regenerate docs/protocol.md's examples.")
    parser.add_argument("--doc", type=Path, default=DOC, help="the document to rewrite")
    parser.add_argument("--stdout", action="store_true", help="print the examples instead")
    args = parser.parse_args(argv)
    generated = build_examples()
    if args.stdout:
        sys.stdout.write(generated + "\n")
        return
    rewrite(args.doc, generated)
    sys.stdout.write(f"rewrote the examples in {args.doc}\n")


if __name__ == "__main__":
    main()

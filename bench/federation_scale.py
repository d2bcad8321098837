"""Simulation: what a view costs if it asks every member of a large federation.

Not a test and not run against servers: it prices a view that fans out to N
members (default 5, 50, 200 and 1,000) from measured parts and a network model.

Measured here, with the project's real code and crypto: the requester's CPU to
sign one share request and to verify and open one sealed answer (each partner's
answer is sealed by that partner's own registry keys beforehand, not timed), and
the bytes of each. Taken from bench/http_client.py (pass ``--client-ms``): the
HTTP client's own CPU per call. Modelled: each member's round trip drawn
uniformly from ``--rtt-ms`` (default 20-80 ms) plus its own answer time
(``--answer-ms``, default 5 ms), all in flight at once; the requester's CPU is
serial (one event loop), so a view takes at least the sum of its per-call CPU.

    .venv/bin/python bench/federation_scale.py [--members 5,50,200,1000]

The last line is JSON, with PyNaCl's sign time of the same run.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from machine import sign_us  # noqa: E402

from federation.envelope import seal_response  # noqa: E402
from federation.fanout import SHARE_PATH, build_calls  # noqa: E402
from federation.registry import load_registry  # noqa: E402
from federation.share_schema import ShareRequestBody  # noqa: E402
from joinedup.localfed import MemberSpec, prepare_federation  # noqa: E402

REQUESTER = "council"
# A realistic answer: a few released needs, actions and a contact.
SECTION = {
    "org_id": "",
    "org_name": "A member",
    "org_kind": "charity",
    "subject_id": "sub_sim",
    "known": True,
    "decision": {"allow": True, "categories": ["mental_health"], "withheld": [], "reasons": []},
    "needs": [
        {"category": "mental_health", "description": "needs support " * 4, "since": "2026-01-01"}
    ]
    * 3,
    "actions": [{"what": "review", "owner": "key worker", "status": "open"}] * 3,
    "contacts": [{"worker_name": "A Worker", "role": "key worker"}],
}


def measure(n: int) -> dict[str, float]:
    """Requester CPU (ms) to sign n requests and open n answers; bytes each way."""
    with tempfile.TemporaryDirectory(prefix="bench-scale-") as tmp:
        specs = [MemberSpec(REQUESTER, "Council", "council", 20000)] + [
            MemberSpec(f"m{i:04d}", f"Member {i}", "charity", 20001 + i) for i in range(n - 1)
        ]
        fed = prepare_federation(Path(tmp), specs)
        registry = load_registry(fed.registry_path, fed.authority_key.verify_key)
        keys = fed.keys[REQUESTER]
        message = ShareRequestBody(
            subject_id="sub_sim",
            purpose="care_coordination",
            categories=[],
            staff_role="coordinator",
            staff_pseudonym="stf_sim",
            consent_token="x" * 900,  # about the size of a real token
            emergency=None,
            view_id="view_sim",
        )
        start = time.process_time()
        calls = build_calls(
            registry=registry, keys=keys, me=REQUESTER, message=message, path=SHARE_PATH
        )
        sign_ms = (time.process_time() - start) * 1000
        answers = [
            seal_response(
                keys=fed.keys[call.org_id],
                issuer=call.org_id,
                audience=REQUESTER,
                request_id=call.request_id,
                body={**SECTION, "org_id": call.org_id},
                recipient_key=registry.public_key(REQUESTER),
            )
            for call in calls
        ]
        start = time.process_time()
        for call, answer in zip(calls, answers, strict=True):
            call.opener.open(answer, expected_issuer=call.org_id, request_id=call.request_id)
        open_ms = (time.process_time() - start) * 1000
        return {
            "sign_ms_per_call": sign_ms / n,
            "open_ms_per_call": open_ms / n,
            "request_bytes": statistics.mean(len(c.request) + 14 for c in calls),
            "answer_bytes": statistics.mean(len(a) + 15 for a in answers),
        }


def simulate(
    n: int, per_call: dict[str, float], client_ms: float, rtt: tuple[float, float], answer_ms: float
) -> dict[str, float]:
    rng = random.Random(n)
    cpu_ms = n * (per_call["sign_ms_per_call"] + per_call["open_ms_per_call"] + client_ms)
    views = []
    for _ in range(200):
        network = max(rng.uniform(*rtt) + answer_ms for _ in range(n))
        slowest_alone = network
        # The requester's serial CPU delays the last answers it handles.
        views.append((max(network, cpu_ms) + cpu_ms / n, slowest_alone))
    view = statistics.median(v for v, _ in views)
    slowest = statistics.median(s for _, s in views)
    return {
        "members": n,
        "requester_cpu_ms_per_view": round(cpu_ms, 1),
        "view_ms": round(view, 1),
        "slowest_member_ms": round(slowest, 1),
        "ratio": round(view / slowest, 2),
        "bytes_out_kb": round(n * per_call["request_bytes"] / 1024, 1),
        "bytes_in_kb": round(n * per_call["answer_bytes"] / 1024, 1),
        "views_per_s_per_core": round(1000 / cpu_ms, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--members", default="5,50,200,1000")
    parser.add_argument("--client-ms", type=float, default=1.5, help="HTTP client CPU per call")
    parser.add_argument("--rtt-ms", default="20,80")
    parser.add_argument("--answer-ms", type=float, default=5.0)
    args = parser.parse_args()
    low, high = (float(v) for v in args.rtt_ms.split(","))
    per_call = measure(200)
    rows = [
        simulate(int(n), per_call, args.client_ms, (low, high), args.answer_ms)
        for n in args.members.split(",")
    ]
    sign = sign_us()
    print(
        f"per call at the requester: sign {per_call['sign_ms_per_call']:.2f} ms, verify+open "
        f"{per_call['open_ms_per_call']:.2f} ms, HTTP client {args.client_ms:.2f} ms; "
        f"request {per_call['request_bytes']:.0f} B, answer {per_call['answer_bytes']:.0f} B"
    )
    for row in rows:
        cpu, view, slowest = (
            row["requester_cpu_ms_per_view"],
            row["view_ms"],
            row["slowest_member_ms"],
        )
        print(
            f"  {row['members']:5d} members: requester CPU {cpu:8.1f} ms/view, view ~{view:7.1f} ms"
            f" vs slowest member {slowest:5.1f} ms (x{row['ratio']}),"
            f" {row['bytes_out_kb']:7.1f} KB out, {row['bytes_in_kb']:7.1f} KB in"
        )
    print(f"PyNaCl sign {sign:.1f} us (~21 us on a normal moment)")
    print(json.dumps({"per_call": per_call, "rows": rows, "pynacl_sign_us": round(sign, 1)}))


if __name__ == "__main__":
    main()

"""Benchmark: joined-up view latency over 5 partners, and share-endpoint throughput.

Bars, on this 2-core machine:

- a joined-up view over 5 partners on a realistic network: p50 <= 1.2 x the
  slowest partner's own p50 (issue 19). Every member's outgoing HTTP goes through
  a loopback proxy that adds a round trip per destination (bench/delay_proxy.py;
  ``--rtt-ms``, default council 20, GP 35, police 50, school 65, housing
  association 80 and the consent service 30 ms), so a view waits on the network
  as it would between organisations; ``--rtt-ms 0`` gives the old all-loopback run;
- the same with 50 partners (bar ratio <= 1.3): a second federation whose registry
  adds 45 members (``--stand-ins``) served by light stand-ins (bench/stand_ins.py:
  valid answers sealed and signed with each member's own registry keys, releasing
  nothing), their round trips spread over the real partners' range;
- a node's share endpoint: >= 500 verified, policy-checked, sealed responses/s.

It starts its own federation (the consent service and five nodes as real uvicorn
processes, one worker each), enrols one person with the consent service, links and
seeds them at every node, and grants consent. The council requests the views
(``POST /views`` as a co-ordinator); each view fans out to five share endpoints —
the council's own (uniform: its records pass its own policy and audit) and the GP,
police, school and housing association. The partner baseline is measured in the
same run, interleaved with the views so both see the same load: direct share calls
from this process to each of the five endpoints, one at a time; the slowest
endpoint's p50 is the bar's denominator. Direct calls go through the same proxy, so
each partner's p50 includes its round trip; the staff member's own call to the
council does not (it is the requester's work that is measured). The requesting
node's CPU per view is read from /proc around each view (it includes answering its
own share call).

Throughput: requests to the GP's share endpoint are signed (each with its own jti)
before the clock starts, because client-side signing in this one process would
otherwise be the bottleneck, then sent over 16 concurrent keep-alive connections by
a minimal asyncio HTTP client (httpx itself costs more CPU per request than the
bar allows on two cores). The server's own CPU per answer is read from /proc, a
figure that depends less on what else the machine is running than a rate does.

    .venv/bin/python bench/view.py [--rounds 50] [--requests 1500] [--concurrency 16]
        [--rtt-ms 20,35,50,65,80,30]

The last line is one JSON object with the figures (view_p50_ms, view_p99_ms,
slowest_partner_p50_ms, view_to_slowest_ratio, view_to_slowest_ratio_50,
requester_cpu_ms_per_view, ...), with PyNaCl's sign time of the same run.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import json
import os
import statistics
import sys
import tempfile
import time
from datetime import date
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from delay_proxy import running_delay_proxy  # noqa: E402  (bench/delay_proxy.py)
from loopback import fire  # noqa: E402  (bench/loopback.py, beside this script)
from machine import sign_us  # noqa: E402
from stand_ins import running_stand_ins  # noqa: E402  (bench/stand_ins.py)

from federation.envelope import open_response, sign_request  # noqa: E402
from federation.linkage import LinkageKey, linkage_tokens  # noqa: E402
from federation.registry import CONSENT_SERVICE_ID, load_registry  # noqa: E402
from federation.wire import message_for  # noqa: E402
from joinedup.localfed import (  # noqa: E402
    LINKAGE_KEY_VERSION,
    LocalFederation,
    MemberSpec,
    free_port,
    prepare_federation,
    run_federation,
)

PURPOSE = "care_coordination"
REQUESTER = "council"
PASSWORD = "bench-password-long-enough"
# (org_id, kind, name, categories of the needs seeded there)
ORGS = [
    ("council", "council", "Riverside Council", ["housing", "income", "social_care"]),
    ("gp", "gp", "Riverside GP", ["physical_health", "mental_health", "physical_health"]),
    ("police", "police", "Riverside Police", ["safety", "victim_support"]),
    ("school", "school", "Riverside High", ["education"]),
    ("housing", "housing_association", "Riverside Homes", ["housing", "income"]),
]
CONSENTED = [
    "contact_details", "housing", "income", "social_care", "physical_health",
    "mental_health", "safety", "victim_support", "education",
]  # fmt: skip
PERSON = {
    "family_name": "Okafor",
    "given_name": "Grace",
    "date_of_birth": date(1984, 3, 17),
    "postcode": "LS6 2AB",
    "national_number": "943 476 5919",
}
THROUGHPUT_NODE = "gp"
# Round trip per destination: the five members in ORGS order, then the consent service.
DEFAULT_RTT_MS = "20,35,50,65,80,30"
STAND_IN_PREFIX = "standin-"


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(fraction * (len(ordered) - 1))))]


def create_coordinator(fed: LocalFederation, url: str | None = None) -> None:
    """The requesting co-ordinator's account, written before the council starts.

    ``url``: another requesting node's database (bench/load.py), else the council's.
    """
    from sqlmodel import Session

    from node.auth.service import create_staff
    from node.db import make_engine, upgrade_database

    data_dir = fed.data_dir(REQUESTER)
    data_dir.mkdir(parents=True, exist_ok=True)
    engine = make_engine(url or f"sqlite:///{data_dir}/node.db")
    try:
        upgrade_database(engine)
        with Session(engine) as session:
            create_staff(session=session, username="coord", password=PASSWORD, role="coordinator")
            session.commit()
    finally:
        engine.dispose()


def seed_node(
    fed: LocalFederation,
    org_id: str,
    subject_id: str,
    categories: list[str],
    url: str | None = None,
) -> None:
    """One linked person with needs, an action and a contact (written beside the server).

    ``url``: the node's database if not its default SQLite file (bench/load.py).
    """
    from sqlmodel import Session

    from node.db import make_engine
    from node.links.models import SubjectLink
    from node.records.models import Action, Contact, Need
    from node.records.service import create_person

    linkage = LinkageKey(LINKAGE_KEY_VERSION, fed.linkage_secret.encode())
    engine = make_engine(url or f"sqlite:///{fed.data_dir(org_id)}/node.db")
    try:
        with Session(engine) as session:
            person = create_person(session=session, data=dict(PERSON), linkage_key=linkage)
            assert person.id is not None
            session.add(SubjectLink(subject_id=subject_id, person_id=person.id))
            for category in categories:
                need = Need(
                    person_id=person.id,
                    category=category,
                    description=f"{category} support needed",
                    since=date(2026, 10, 1),
                    recorded_by="bench",
                )
                session.add(need)
                session.flush()
                session.add(
                    Action(person_id=person.id, need_id=need.id, what="review", owner="team")
                )
            session.add(Contact(person_id=person.id, worker_name="Sam", role="Key worker"))
            session.commit()
    finally:
        engine.dispose()


class Bench:
    def __init__(
        self, fed: LocalFederation, client: httpx.Client, partner_client: httpx.Client
    ) -> None:
        self.fed = fed
        self.client = client
        # Direct share calls go over the same (delayed) network as the requester's.
        self.partner_client = partner_client
        self.registry = load_registry(fed.registry_path, fed.authority_key.verify_key)
        self.keys = fed.keys[REQUESTER]
        self.consent_url = fed.consent.base_url
        self.subject_id = ""
        self._n = 0

    def signed(self, audience: str, action: str, body: dict[str, Any], *, rid: str = "") -> str:
        self._n += 1
        return sign_request(
            message_for(action).from_body(body),
            keys=self.keys,
            issuer=REQUESTER,
            audience=audience,
            ttl_s=60,
            request_id=rid or f"bench-{action}-{self._n}",
        )

    def post_signed(
        self, url: str, token: str, *, client: httpx.Client | None = None
    ) -> httpx.Response:
        response = (client or self.client).post(url, json={"request": token})
        if response.status_code >= 300:
            raise SystemExit(f"{url} answered {response.status_code}: {response.text[:300]}")
        return response

    def enrol_and_consent(self) -> None:
        linkage = LinkageKey(LINKAGE_KEY_VERSION, self.fed.linkage_secret.encode())
        tokens = linkage_tokens(key=linkage, **PERSON)  # type: ignore[arg-type]
        enrolled = self.post_signed(
            f"{self.consent_url}/federation/enrol",
            self.signed(CONSENT_SERVICE_ID, "enrol", {"linkage_tokens": tokens}),
        )
        self.subject_id = enrolled.json()["subject_id"]
        for org_id, _, _, categories in ORGS:
            seed_node(self.fed, org_id, self.subject_id, categories)
        provision = {
            "purposes": [PURPOSE],
            "recipients": [REQUESTER],
            "categories": CONSENTED,
            "actions": ["read"],
        }
        grant = {
            "subject_id": self.subject_id,
            "grantor_kind": "customer",
            "provisions": [provision],
        }
        self.post_signed(
            f"{self.consent_url}/federation/grants", self.signed(CONSENT_SERVICE_ID, "grant", grant)
        )

    def consent_token(self) -> str:
        body = {"subject_id": self.subject_id, "purpose": PURPOSE}
        answer = self.post_signed(
            f"{self.consent_url}/federation/consent-token",
            self.signed(CONSENT_SERVICE_ID, "consent_token", body),
        )
        return str(answer.json()["token"])

    def share_body(self, consent_token: str) -> dict[str, Any]:
        return {
            "subject_id": self.subject_id,
            "purpose": PURPOSE,
            "categories": [],
            "staff_role": "coordinator",
            "staff_pseudonym": "stf_bench",
            "consent_token": consent_token,
            "emergency": None,
            "view_id": "view_bench_direct",
        }

    def staff_token(self) -> str:
        answer = self.client.post(
            f"{self.fed.node(REQUESTER).base_url}/auth/token",
            data={"username": "coord", "password": PASSWORD},
        )
        answer.raise_for_status()
        return str(answer.json()["access_token"])


def measure_latency(bench: Bench, rounds: int, warmup: int, requester_pid: int) -> dict[str, Any]:
    """Interleave views and direct share calls so both run under the same conditions."""
    staff = bench.staff_token()
    view_url = f"{bench.fed.node(REQUESTER).base_url}/views"
    view_body = {"subject_id": bench.subject_id, "purpose": PURPOSE}
    headers = {"Authorization": f"Bearer {staff}"}
    views: list[float] = []
    steps: dict[str, list[float]] = {}
    direct: dict[str, list[float]] = {org: [] for org, *_ in ORGS}
    sources_seen: set[str] = set()
    requester_cpu_s: list[float] = []
    consent, consent_at = bench.consent_token(), time.monotonic()
    for round_no in range(warmup + rounds):
        if time.monotonic() - consent_at > 20:  # tokens live 30 s
            consent, consent_at = bench.consent_token(), time.monotonic()
        cpu_before = process_cpu_s(requester_pid)
        started = time.perf_counter()
        answer = bench.client.post(view_url, json=view_body, headers=headers)
        elapsed = time.perf_counter() - started
        cpu_used = process_cpu_s(requester_pid) - cpu_before
        if answer.status_code != 200:
            raise SystemExit(f"view answered {answer.status_code}: {answer.text[:300]}")
        view = answer.json()
        # A stand-in answers, validly sealed, that it releases nothing ("denied").
        not_ok = [
            s
            for s in view["sources"]
            if s["status"] != ("denied" if s["org_id"].startswith(STAND_IN_PREFIX) else "ok")
        ]
        if not_ok or not view["needs"]:
            raise SystemExit(f"view incomplete: {not_ok or 'no needs released'}")
        sources_seen = {s["org_id"] for s in view["sources"]}
        if round_no >= warmup:
            views.append(elapsed)
            requester_cpu_s.append(cpu_used)
            for item in answer.headers.get("server-timing", "").split(","):
                name, _, duration = item.strip().partition(";dur=")
                if duration:
                    steps.setdefault(name, []).append(float(duration))
        for org_id, *_ in ORGS:
            member = bench.registry.member(org_id)
            rid = f"direct-{org_id}-{round_no}"
            token = bench.signed(org_id, "share", bench.share_body(consent), rid=rid)
            started = time.perf_counter()
            response = bench.post_signed(
                f"{member.base_url}/federation/share", token, client=bench.partner_client
            )
            elapsed = time.perf_counter() - started
            section = open_response(
                response.json()["response"],
                registry=bench.registry,
                keys=bench.keys,
                me=REQUESTER,
                expected_issuer=org_id,
                request_id=rid,
            )
            if not section["decision"]["allow"]:
                raise SystemExit(f"direct share call to {org_id} was denied")
            if round_no >= warmup:
                direct[org_id].append(elapsed)
    partner_p50 = {org: statistics.median(values) for org, values in direct.items()}
    slowest = max(partner_p50, key=lambda org: partner_p50[org])
    return {
        "views": views,
        "steps": {name: statistics.median(values) for name, values in steps.items()},
        "partner_p50": partner_p50,
        "slowest": slowest,
        "sources": sorted(sources_seen),
        "requester_cpu_ms_per_view": 1000 * sum(requester_cpu_s) / len(requester_cpu_s),
    }


def process_cpu_s(pid: int) -> float:
    """User + system CPU seconds of a process so far (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def measure_throughput(
    bench: Bench, requests: int, concurrency: int, pid: int
) -> tuple[float, float]:
    """Sealed responses per second, and the server's CPU ms per response."""
    consent = bench.consent_token()
    body = bench.share_body(consent)
    url = httpx.URL(bench.registry.member(THROUGHPUT_NODE).base_url)
    host, port = url.host, url.port or 80
    path = "/federation/share"
    warm = [bench.signed(THROUGHPUT_NODE, "share", body) for _ in range(min(200, requests // 5))]
    asyncio.run(fire(host, port, path, warm, concurrency))
    tokens = [bench.signed(THROUGHPUT_NODE, "share", body) for _ in range(requests)]
    cpu_before = process_cpu_s(pid)
    fired = asyncio.run(fire(host, port, path, tokens, concurrency))
    cpu_ms = (process_cpu_s(pid) - cpu_before) * 1000 / len(fired.statuses)
    bad = [s for s in fired.statuses if s != 200]
    if bad:
        raise SystemExit(f"{len(bad)} share answers were not 200, e.g. {bad[:5]}")
    return len(fired.statuses) / fired.elapsed_s, cpu_ms


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=30, help="measured views")
    parser.add_argument("--warmup", type=int, default=5)
    parser.add_argument("--requests", type=int, default=500, help="share calls for throughput")
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument(
        "--stand-ins",
        type=int,
        default=45,
        help="members added as light stand-ins for the second run (0: no second run)",
    )
    parser.add_argument(
        "--rtt-ms",
        default=DEFAULT_RTT_MS,
        help="round trips in ms: the five members in order, then the consent service; 0 for none",
    )
    args = parser.parse_args()

    # Keys, databases and logs of the run: removed afterwards (they hold secrets).
    with tempfile.TemporaryDirectory(prefix="bench-view-") as tmp:
        _run(Path(tmp), args)


def _run(root: Path, args: argparse.Namespace) -> None:
    rtt_ms = [float(v) for v in str(args.rtt_ms).split(",")]
    if len(rtt_ms) == 1:
        rtt_ms = rtt_ms * (len(ORGS) + 1)
    with running_delay_proxy({}) as proxy:
        figures = _run_with_proxy(root / "five", args, proxy.rtt_s, proxy.url, rtt_ms, 0)
        if args.stand_ins:
            fifty = _run_with_proxy(
                root / "fifty", args, proxy.rtt_s, proxy.url, rtt_ms, args.stand_ins
            )
            figures["view_to_slowest_ratio_50"] = fifty["view_to_slowest_ratio"]
            figures["view_p50_ms_50"] = fifty["view_p50_ms"]
            figures["requester_cpu_ms_per_view_50"] = fifty["requester_cpu_ms_per_view"]
            figures["partners_50"] = fifty["partners"]
    print(json.dumps(figures))


def _run_with_proxy(
    root: Path,
    args: argparse.Namespace,
    rtt_s: dict[int, float],
    proxy_url: str,
    rtt_ms: list[float],
    stand_ins: int,
) -> dict[str, Any]:
    """One federation (five nodes, plus ``stand_ins`` light members) measured."""
    specs = [MemberSpec(org, name, kind, free_port()) for org, kind, name, _ in ORGS]
    extra = [
        MemberSpec(f"{STAND_IN_PREFIX}{i:02d}", f"Stand-in {i}", "charity", free_port())
        for i in range(stand_ins)
    ]
    consent_port = free_port()
    for port, ms in zip([s.port for s in specs] + [consent_port], rtt_ms, strict=True):
        rtt_s[port] = ms / 1000
    for i, spec in enumerate(extra):  # spread over the real partners' range
        rtt_s[spec.port] = (
            min(rtt_ms[:-1]) + i * (max(rtt_ms[:-1]) - min(rtt_ms[:-1])) / max(stand_ins - 1, 1)
        ) / 1000
    everyone = prepare_federation(
        root,
        specs + extra,
        consent_port=consent_port,
        extra_env={"JOINEDUP_NODE_LOG_JSON": "false", "HTTP_PROXY": proxy_url},
    )
    # Processes only for the real nodes; the registry names everyone.
    fed = dataclasses.replace(everyone, nodes=tuple(specs))
    create_coordinator(fed)
    print(
        f"federation under {root}: the consent service, {len(specs)} nodes"
        f" and {len(extra)} stand-ins"
    )
    print(
        f"requesting member: {REQUESTER} ({specs[0].name}), as a co-ordinator; each view "
        f"fans out to {len(specs) + len(extra)} share endpoints: "
        f"{', '.join(s.org_id for s in specs)} (the council's own included)"
        + (f" and {len(extra)} stand-ins (bench/stand_ins.py)" if extra else "")
    )
    started = time.monotonic()
    print(
        "round trips (ms): "
        + ", ".join(f"{s.org_id} {ms:g}" for s, ms in zip(specs, rtt_ms, strict=False))
        + f", consent service {rtt_ms[-1]:g}"
    )
    registry = load_registry(fed.registry_path, fed.authority_key.verify_key)
    with (
        run_federation(fed, ready_timeout=120) as servers,
        running_stand_ins(everyone, registry, extra),
        httpx.Client(timeout=30, trust_env=False) as client,
        httpx.Client(timeout=30, trust_env=False, proxy=proxy_url) as partner_client,
    ):
        print(f"all processes ready in {time.monotonic() - started:.1f} s")
        bench = Bench(fed, client, partner_client)
        bench.enrol_and_consent()
        latency = measure_latency(bench, args.rounds, args.warmup, servers[REQUESTER].process.pid)
        rate = cpu_ms = 0.0
        if not stand_ins:  # the share endpoint's throughput is measured once
            pid = servers[THROUGHPUT_NODE].process.pid
            rate, cpu_ms = measure_throughput(bench, args.requests, args.concurrency, pid)
        load = os.getloadavg()[0]

    views = latency["views"]
    partner_p50 = latency["partner_p50"]
    slowest = latency["slowest"]
    view_p50, view_p99 = statistics.median(views) * 1000, percentile(views, 0.99) * 1000
    slowest_ms = partner_p50[slowest] * 1000
    ratio = view_p50 / slowest_ms
    answered = [org for org in latency["sources"] if not org.startswith(STAND_IN_PREFIX)]
    print(
        f"views answered by: {', '.join(answered)} (all ok)"
        + (f" and {stand_ins} stand-ins" if stand_ins else "")
    )
    partners = len(ORGS) + stand_ins
    print(f"joined-up view over {partners} partners, {len(views)} views one at a time:")
    print(f"  p50 {view_p50:.1f} ms, p99 {view_p99:.1f} ms")
    steps = ", ".join(f"{k} {v:.1f} ms" for k, v in latency["steps"].items())
    print(f"  inside the requesting node (Server-Timing p50): {steps}")
    print("single share call p50 per partner (direct, same run, interleaved):")
    for org, value in sorted(partner_p50.items(), key=lambda item: -item[1]):
        print(f"  {org:<8} {value * 1000:6.1f} ms{'   <- slowest' if org == slowest else ''}")
    bar = 1.3 if stand_ins else 1.2
    verdict = "met" if ratio <= bar else "NOT met"
    print(f"view p50 / slowest partner p50 = {ratio:.2f}  (bar <= {bar}: {verdict})")
    requester_cpu = latency["requester_cpu_ms_per_view"]
    print(f"requesting node's CPU per view: {requester_cpu:.1f} ms")
    sign = sign_us()
    print(f"PyNaCl sign {sign:.1f} us (~21 us on a normal moment)")
    if rate:
        print(
            f"share endpoint ({THROUGHPUT_NODE}, one uvicorn worker): {rate:.0f} sealed "
            f"responses/s with {args.concurrency} concurrent clients, requests pre-signed "
            f"(bar >= 500/s: {'met' if rate >= 500 else 'NOT met'})"
        )
        print(
            f"  server CPU {cpu_ms:.2f} ms per sealed response "
            f"(one worker process: at most ~{1000 / cpu_ms:.0f}/s on a free core)"
        )
    print(f"1-min load average {load:.1f} on {os.cpu_count()} cores")
    return {
        "view_p50_ms": round(view_p50, 2),
        "view_p99_ms": round(view_p99, 2),
        "slowest_partner": slowest,
        "slowest_partner_p50_ms": round(slowest_ms, 2),
        "view_to_slowest_ratio": round(ratio, 3),
        "requester_cpu_ms_per_view": round(requester_cpu, 2),
        "rtt_ms": rtt_ms,
        "pynacl_sign_us": round(sign, 1),
        "share_responses_per_s": round(rate, 1),
        "share_server_cpu_ms": round(cpu_ms, 3),
        "load_average_1m": round(load, 2),
        "views": len(views),
        "partners": partners,
    }


if __name__ == "__main__":
    main()

"""Consent service benchmark: tokens issued per second and token verifications per second.

Starts a real consent service (``uvicorn --factory consent.main:create_app_from_env``)
on a loopback port over a fresh data directory and a signed registry, enrols one
subject with three consents, then asks for consent tokens through the API for a
fixed time with signed requests from a member ("council"), several in flight at
once. Then verifies the token it got (signature, claims, revocation set) in a loop
in this process, as a node does. No set-up needed; runs in well under a minute.

    .venv/bin/python bench/consent.py            # last line: JSON figures
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from federation.consent_token import RevocationSet, verify_consent_token  # noqa: E402
from federation.envelope import sign_request  # noqa: E402
from federation.keys import MemberKeys, b64encode  # noqa: E402
from federation.registry import Member, new_document, sign_registry  # noqa: E402
from federation.wire import message_for  # noqa: E402
from federation.wire.token import ConsentTokenAsk  # noqa: E402

ISSUE_SECONDS = 8.0
VERIFY_SECONDS = 3.0
CONCURRENCY = 8


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _member(org_id: str, kind: str, keys: MemberKeys, url: str) -> Member:
    return Member(
        org_id=org_id,
        name=org_id.title(),
        kind=kind,
        base_url=url,
        verify_keys=[keys.verify_key_b64],
        encryption_key=keys.public_key_b64,
    )


def _start(data_dir: Path, port: int, authority: MemberKeys) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "JOINEDUP_CONSENT_DATA_DIR": str(data_dir),
        "JOINEDUP_CONSENT_REGISTRY_PATH": str(data_dir / "registry.json"),
        "JOINEDUP_CONSENT_AUTHORITY_VERIFY_KEY": b64encode(bytes(authority.verify_key)),
    }
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "consent.main:create_app_from_env",
            "--factory",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--log-level",
            "warning",
            "--no-access-log",
        ],
        cwd=REPO,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=(data_dir / "server.log").open("wb"),
    )


def _wait_ready(base: str, process: subprocess.Popen[bytes]) -> None:
    for _ in range(300):
        if process.poll() is not None:
            raise SystemExit("consent service exited during start-up")
        try:
            if httpx.get(f"{base}/health", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise SystemExit("consent service did not start")


async def _issue_for(base: str, council: MemberKeys, subject_id: str, seconds: float) -> int:
    done = 0
    deadline = time.perf_counter() + seconds
    limits = httpx.Limits(max_connections=CONCURRENCY)

    async with httpx.AsyncClient(base_url=base, limits=limits, timeout=10) as client:

        async def worker() -> None:
            nonlocal done
            while time.perf_counter() < deadline:
                token = sign_request(
                    ConsentTokenAsk(subject_id=subject_id, purpose="care_coordination"),
                    keys=council,
                    issuer="council",
                    audience="consent",
                )
                response = await client.post("/federation/consent-token", json={"request": token})
                if response.status_code != 200:
                    raise SystemExit(f"token request failed: {response.status_code}")
                done += 1

        await asyncio.gather(*(worker() for _ in range(CONCURRENCY)))
    return done


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="joinedup-bench-consent-") as tmp:
        data_dir = Path(tmp)
        port = _free_port()
        base = f"http://127.0.0.1:{port}"
        authority, council, gp = MemberKeys.generate(), MemberKeys.generate(), MemberKeys.generate()
        consent_keys = MemberKeys.load_or_create(data_dir)
        members = [
            _member("consent", "consent_service", consent_keys, base),
            _member("council", "council", council, "http://127.0.0.1:9"),
            _member("gp", "gp", gp, "http://127.0.0.1:9"),
        ]
        signed = sign_registry(new_document("bench", 1, members), authority.signing_key)
        (data_dir / "registry.json").write_text(json.dumps(signed))
        process = _start(data_dir, port, authority)
        try:
            _wait_ready(base, process)

            def call(action: str, path: str, body: dict[str, object]) -> dict[str, object]:
                token = sign_request(
                    message_for(action).from_body(body),
                    keys=council,
                    issuer="council",
                    audience="consent",
                )
                response = httpx.post(f"{base}{path}", json={"request": token}, timeout=10)
                response.raise_for_status()
                result: dict[str, object] = response.json()
                return result

            subject_id = str(
                call("enrol", "/federation/enrol", {"linkage_tokens": ["v1.nn." + "ab" * 32]})[
                    "subject_id"
                ]
            )
            for categories in (["housing"], ["income", "social_care"], ["physical_health"]):
                provision = {
                    "purposes": ["care_coordination"],
                    "recipients": ["council", "gp"],
                    "categories": categories,
                    "actions": ["read"],
                }
                call(
                    "grant",
                    "/federation/grants",
                    {"subject_id": subject_id, "provisions": [provision]},
                )
            asyncio.run(_issue_for(base, council, subject_id, 1.0))  # warm-up
            started = time.perf_counter()
            issued = asyncio.run(_issue_for(base, council, subject_id, ISSUE_SECONDS))
            issue_rate = issued / (time.perf_counter() - started)
            token = str(
                call(
                    "consent_token",
                    "/federation/consent-token",
                    {"subject_id": subject_id, "purpose": "care_coordination"},
                )["token"]
            )
        finally:
            process.send_signal(signal.SIGTERM)
            process.wait(timeout=10)

    verify_keys = [consent_keys.verify_key]
    revocations = RevocationSet((f"cns_revoked_{i}", 0) for i in range(1000))
    claims = verify_consent_token(token, verify_keys=verify_keys, requester="council")
    assert len(claims.provisions) == 3
    verified = 0
    started = time.perf_counter()
    while time.perf_counter() - started < VERIFY_SECONDS:
        for _ in range(100):
            verify_consent_token(
                token,
                verify_keys=verify_keys,
                requester="council",
                subject_id=subject_id,
                purpose="care_coordination",
                revocations=revocations,
            )
        verified += 100
    verify_rate = verified / (time.perf_counter() - started)

    print(f"consent tokens issued via API ({CONCURRENCY} in flight): {issue_rate:,.0f}/s")
    print(f"consent token verifications (3 provisions, 1000 revocations): {verify_rate:,.0f}/s")
    print(
        json.dumps(
            {
                "tokens_issued_per_s": round(issue_rate, 1),
                "token_verifications_per_s": round(verify_rate, 1),
                "issue_seconds": ISSUE_SECONDS,
                "concurrency": CONCURRENCY,
                "provisions_per_token": 3,
            }
        )
    )


if __name__ == "__main__":
    main()

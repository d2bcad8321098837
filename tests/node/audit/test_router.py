"""The audit API through a real uvicorn node, once per database backend.

Sign-in writes a ``login`` audit entry, so parallel sign-ins are parallel appends:
the concurrency test fires them at the real server and then verifies the tree.
Proofs fetched over HTTP are checked with ``federation.tree_head`` alone.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from federation.keys import MemberKeys
from federation.tree_head import check_consistency, check_inclusion, verify_tree_head
from node.audit.verify import verify_log
from tests.fixtures.auth import bearer, login, make_staff
from tests.fixtures.servers import RunningServer, ServerSpec, uvicorn_process

pytestmark = pytest.mark.e2e
ORG = "council-a"
PARALLEL_SIGN_INS = 24


@dataclass
class Node:
    server: RunningServer
    client: httpx.Client
    engine: Engine
    keys: MemberKeys
    tokens: dict[str, str]
    usernames: dict[str, str]
    data_dir: Path
    db_url: str


@pytest.fixture(scope="module")
def node(
    db_url: str, db_engine: Engine, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Node]:
    data_dir = tmp_path_factory.mktemp("node")
    keys = MemberKeys.load_or_create(data_dir)
    spec = ServerSpec(
        name=ORG,
        factory="node.main:create_app_from_env",
        env={
            "JOINEDUP_NODE_ORG_ID": ORG,
            "JOINEDUP_NODE_DATA_DIR": str(data_dir),
            "JOINEDUP_NODE_DATABASE_URL": db_url,
            "JOINEDUP_NODE_AUDIT_TREE_HEAD_EVERY": "1000000",
            "JOINEDUP_NODE_AUDIT_TREE_HEAD_SECONDS": "3600",
        },
    )
    with uvicorn_process(spec, Path(data_dir) / "logs") as server:
        usernames = {}
        tokens = {}
        for role in ("auditor", "frontline", "admin"):
            _, usernames[role] = make_staff(db_engine, role=role)
            tokens[role] = login(server.base_url, usernames[role])
        with httpx.Client(base_url=server.base_url, timeout=30) as client:
            yield Node(server, client, db_engine, keys, tokens, usernames, data_dir, db_url)


def as_role(node: Node, role: str) -> dict[str, str]:
    return bearer(node.tokens[role])


def sign_head(node: Node) -> dict:
    response = node.client.post("/audit/tree-heads", headers=as_role(node, "auditor"))
    assert response.status_code == 201, response.text
    return response.json()


def test_parallel_sign_ins_never_fork_the_tree(node: Node) -> None:
    before = node.client.get("/audit/entries?kind=login", headers=as_role(node, "auditor"))
    start = before.json()["count"]
    with ThreadPoolExecutor(max_workers=8) as pool:
        tokens = list(
            pool.map(
                lambda _: login(node.server.base_url, node.usernames["frontline"]),
                range(PARALLEL_SIGN_INS),
            )
        )
    assert len(tokens) == PARALLEL_SIGN_INS  # every sign-in succeeded (login raises otherwise)
    after = node.client.get(
        "/audit/entries?kind=login&limit=500", headers=as_role(node, "auditor")
    ).json()
    assert after["count"] == start + PARALLEL_SIGN_INS
    seqs = sorted(e["seq"] for e in after["data"])
    assert seqs == list(range(seqs[0], seqs[0] + len(seqs)))
    with node.engine.connect() as connection:
        report = verify_log(connection=connection, verify_keys=[node.keys.verify_key], org_id=ORG)
    assert report.ok, report.problems
    assert report.tree_size == report.entries_checked


def test_only_auditors_read_the_log(node: Node) -> None:
    assert node.client.get("/audit/entries").status_code == 401
    for role in ("frontline", "admin"):
        response = node.client.get("/audit/entries", headers=as_role(node, role))
        assert response.status_code == 403
        assert response.headers["content-type"].startswith("application/problem+json")
    assert node.client.post("/audit/verify", headers=as_role(node, "frontline")).status_code == 403
    assert node.client.get("/audit/entries.csv", headers=as_role(node, "admin")).status_code == 403


def test_filters_narrow_the_listing(node: Node) -> None:
    headers = as_role(node, "auditor")
    everything = node.client.get("/audit/entries?limit=500", headers=headers).json()
    login_entry = everything["data"][0]
    assert login_entry["kind"] == "login"
    assert login_entry["actor_org"] == ORG
    assert login_entry["subject_id"] is None
    by_request = node.client.get(
        "/audit/entries", params={"request_id": login_entry["request_id"]}, headers=headers
    ).json()
    assert [e["seq"] for e in by_request["data"]] == [login_entry["seq"]]
    none = node.client.get(
        "/audit/entries", params={"decision": "deny", "emergency": "true"}, headers=headers
    ).json()
    assert none["count"] == 0
    future = node.client.get(
        "/audit/entries", params={"since": "2999-01-01T00:00:00Z"}, headers=headers
    ).json()
    assert future["count"] == 0
    bad = node.client.get("/audit/entries", params={"decision": "perhaps"}, headers=headers)
    assert bad.status_code == 422


def test_exports_carry_every_matching_entry(node: Node) -> None:
    headers = as_role(node, "auditor")
    count = node.client.get("/audit/entries?kind=login", headers=headers).json()["count"]
    csv_response = node.client.get("/audit/entries.csv?kind=login", headers=headers)
    assert csv_response.status_code == 200
    assert csv_response.headers["content-type"].startswith("text/csv")
    rows = csv_response.text.strip().splitlines()
    assert rows[0].startswith("seq,at,request_id,kind")
    assert len(rows) == count + 1
    jsonl = node.client.get("/audit/entries.jsonl?kind=login", headers=headers)
    assert jsonl.headers["content-type"].startswith("application/jsonl")
    entries = [json.loads(line) for line in jsonl.text.splitlines()]
    assert len(entries) == count
    assert [e["seq"] for e in entries] == sorted(e["seq"] for e in entries)


def test_exported_entries_prove_inclusion_against_a_published_head(node: Node) -> None:
    headers = as_role(node, "auditor")
    head_json = sign_head(node)
    published = node.client.get("/audit/tree-heads/latest").json()
    assert published["jws"] == head_json["jws"]
    head = verify_tree_head(published["jws"], node.keys.verify_key, org_id=ORG)
    entries = [
        json.loads(line)
        for line in node.client.get("/audit/entries.jsonl", headers=headers).text.splitlines()
    ]
    for entry in entries:
        if entry["seq"] >= head.tree_size:
            continue
        proof = node.client.get(
            "/audit/proofs/inclusion", params={"index": entry["seq"], "tree_size": head.tree_size}
        ).json()
        assert check_inclusion(
            entry=entry, index=entry["seq"], proof=proof["proof"], tree_head=head
        )
        forged = {**entry, "decision": "deny"}
        assert not check_inclusion(
            entry=forged, index=entry["seq"], proof=proof["proof"], tree_head=head
        )


def test_heads_are_consistent_over_time(node: Node) -> None:
    old = verify_tree_head(sign_head(node)["jws"], node.keys.verify_key)
    login(node.server.base_url, node.usernames["frontline"])
    new = verify_tree_head(sign_head(node)["jws"], node.keys.verify_key)
    assert new.tree_size == old.tree_size + 1
    proof = node.client.get(
        "/audit/proofs/consistency", params={"first": old.tree_size, "second": new.tree_size}
    ).json()
    assert check_consistency(old=old, new=new, proof=proof["proof"])
    history = node.client.get("/audit/tree-heads?limit=500").json()
    assert history["latest"]["tree_size"] == new.tree_size
    # The lifespan signer signed the log as it found it at start-up: empty.
    assert min(h["tree_size"] for h in history["data"]) == 0


def test_impossible_proofs_are_problems_not_errors(node: Node) -> None:
    size = node.client.get("/audit/tree-heads/latest").json()["tree_size"]
    for params in (
        {"index": size, "tree_size": size},
        {"index": 0, "tree_size": size + 10},
        {"index": -1, "tree_size": 1},
        {"index": 0, "tree_size": 2**70},
    ):
        response = node.client.get("/audit/proofs/inclusion", params=params)
        assert response.status_code in (400, 422), params
        assert response.headers["content-type"].startswith("application/problem+json")
    response = node.client.get("/audit/proofs/consistency", params={"first": 5, "second": 2})
    assert response.status_code == 400


def test_verify_endpoint_reports_a_clean_log(node: Node) -> None:
    response = node.client.post("/audit/verify", headers=as_role(node, "auditor"))
    assert response.status_code == 200, response.text
    report = response.json()
    assert report["ok"] is True
    assert report["first_bad_index"] is None
    assert report["tree_heads_checked"] >= 1


def test_verify_endpoint_names_an_entry_edited_in_the_database(node: Node) -> None:
    with node.engine.begin() as connection:
        seq, reason = connection.execute(
            sa.text("SELECT seq, reason FROM audit_entry ORDER BY seq LIMIT 1 OFFSET 2")
        ).one()
        connection.execute(
            sa.text("UPDATE audit_entry SET reason = 'nothing happened' WHERE seq = :s"), {"s": seq}
        )
    try:
        report = node.client.post("/audit/verify", headers=as_role(node, "auditor")).json()
        assert report["ok"] is False
        assert report["first_bad_index"] == seq
    finally:
        with node.engine.begin() as connection:
            connection.execute(
                sa.text("UPDATE audit_entry SET reason = :r WHERE seq = :s"),
                {"r": reason, "s": seq},
            )
    assert node.client.post("/audit/verify", headers=as_role(node, "auditor")).json()["ok"]


def test_a_monitor_keeps_heads_and_catches_a_forked_log(node: Node, tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from federation.tree_head import sign_tree_head
    from joinedup.cli import app

    heads = tmp_path / "heads.jsonl"
    args = [
        "audit", "monitor", "--url", node.server.base_url, "--org-id", ORG,
        "--verify-key", node.keys.verify_key_b64, "--heads", str(heads),
    ]  # fmt: skip
    sign_head(node)
    first = CliRunner().invoke(app, args)
    assert first.exit_code == 0, first.output
    login(node.server.base_url, node.usernames["frontline"])
    sign_head(node)
    second = CliRunner().invoke(app, args)
    assert second.exit_code == 0, second.output
    assert len(heads.read_text().splitlines()) == 2
    # A head the node signed for a different history of the same size: a fork.
    kept = verify_tree_head(heads.read_text().splitlines()[-1], node.keys.verify_key)
    forged = sign_tree_head(
        keys=node.keys,
        org_id=ORG,
        tree_size=kept.tree_size - 1,
        root_hash="ab" * 32,
        timestamp=kept.timestamp,
    )
    heads.write_text(forged.jws + "\n")
    caught = CliRunner().invoke(app, args)
    assert caught.exit_code == 1
    assert "INCONSISTENT" in caught.output
    stranger = CliRunner().invoke(
        app,
        [
            *args[:-4],
            "--verify-key",
            MemberKeys.generate().verify_key_b64,
            "--heads",
            str(tmp_path / "x"),
        ],
    )
    assert stranger.exit_code == 1
    assert "INVALID" in stranger.output


def test_a_tampered_log_stops_signing_until_an_operator_resumes(node: Node) -> None:
    """Issue 11 item 14, through the real server and the real CLI."""
    from typer.testing import CliRunner

    from joinedup.cli import app

    sign_head(node)
    login(node.server.base_url, node.usernames["frontline"])  # an entry after the head
    with node.engine.begin() as connection:
        seq, reason = connection.execute(
            sa.text("SELECT seq, reason FROM audit_entry ORDER BY seq DESC LIMIT 1")
        ).one()
        connection.execute(
            sa.text("UPDATE audit_entry SET reason = 'nothing happened' WHERE seq = :s"), {"s": seq}
        )
    refused = node.client.post("/audit/tree-heads", headers=as_role(node, "auditor"))
    assert refused.status_code == 503
    assert refused.headers["content-type"].startswith("application/problem+json")
    assert refused.json()["type"].endswith("audit-signing-halted")
    health = node.client.get("/health").json()
    assert health["status"] == "audit_alarm"
    assert f"from entry {seq}" in health["audit_alarm"]
    operator = [
        "audit",
        "resume-signing",
        "--org-id",
        ORG,
        "--data-dir",
        str(node.data_dir),
        "--database-url",
        node.db_url,
        "--note",
        "restored the entry from the backup",
    ]
    still = CliRunner().invoke(app, operator)
    assert still.exit_code == 1
    assert "SIGNING HALTED: the log still does not match" in still.output
    with node.engine.begin() as connection:
        connection.execute(
            sa.text("UPDATE audit_entry SET reason = :r WHERE seq = :s"), {"r": reason, "s": seq}
        )
    # Undone, yet still refused: only the operator's action resumes signing.
    again = node.client.post("/audit/tree-heads", headers=as_role(node, "auditor"))
    assert again.status_code == 503
    resumed = CliRunner().invoke(app, operator)
    assert resumed.exit_code == 0, resumed.output
    assert node.client.get("/health").json()["status"] == "ok"
    sign_head(node)

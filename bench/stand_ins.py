"""Light stand-ins for federation members, so a view can fan out to 50 of them.

Five real nodes are what this machine can run; ``bench/view.py`` adds members to
the registry (each with its own keys, as any member) that no node process serves.
This serves them all from one asyncio thread: each answers ``POST
/federation/share`` with a valid answer sealed to the requester and signed with
that member's own registry keys, saying it does not know the person (as most
members of a large federation would). It does not verify the request or decide
anything: it stands in for the network and the answer's size, not for a node's
work.
"""

from __future__ import annotations

import asyncio
import functools
import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager

from delay_proxy import read_message, stop_loop_thread

from federation.envelope import seal_response
from federation.jose import read_unverified_claims
from federation.registry import Registry
from joinedup.localfed import LocalFederation, MemberSpec


class StandIns:
    """One thread answering share requests on every stand-in's port."""

    def __init__(self, fed: LocalFederation, registry: Registry, specs: list[MemberSpec]):
        self.fed, self.registry, self.specs = fed, registry, specs
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)

    def _serve(self) -> None:
        asyncio.set_event_loop(self._loop)
        for spec in self.specs:
            self._loop.run_until_complete(
                asyncio.start_server(functools.partial(self._client, spec), spec.host, spec.port)
            )
        self._ready.set()
        self._loop.run_forever()

    def _answer(self, spec: MemberSpec, body: bytes) -> bytes:
        claims = read_unverified_claims(json.loads(body)["request"])
        requester = str(claims["iss"])
        section = {
            "org_id": spec.org_id,
            "org_name": spec.name,
            "org_kind": spec.kind,
            "subject_id": str(claims["body"]["subject_id"]),
            "known": False,
            "decision": {"allow": False, "reasons": ["nothing requested could be released"]},
        }
        sealed = seal_response(
            keys=self.fed.keys[spec.org_id],
            issuer=spec.org_id,
            audience=requester,
            request_id=str(claims["jti"]),
            body=section,
            recipient_key=self.registry.public_key(requester),
        )
        return json.dumps({"response": sealed}).encode()

    async def _client(
        self, spec: MemberSpec, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        try:
            while True:
                first, _, body = await read_message(reader)
                if first.startswith(b"POST /federation/share "):
                    status, answer = b"200 OK", self._answer(spec, body)
                else:
                    status, answer = b"404 Not Found", b"{}"
                writer.write(
                    b"HTTP/1.1 " + status + b"\r\ncontent-type: application/json\r\n"
                    b"content-length: " + str(len(answer)).encode() + b"\r\n\r\n" + answer
                )
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError, asyncio.CancelledError):
            # Closed by the other side, or by stop_loop_thread at the end of the run.
            pass
        finally:
            writer.close()


@contextmanager
def running_stand_ins(
    fed: LocalFederation, registry: Registry, specs: list[MemberSpec]
) -> Iterator[StandIns]:
    """Stand-ins answering on their ports until exit."""
    stand_ins = StandIns(fed, registry, specs)
    stand_ins._thread.start()
    stand_ins._ready.wait(30)
    try:
        yield stand_ins
    finally:
        stop_loop_thread(stand_ins._loop, stand_ins._thread)

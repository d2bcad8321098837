"""The consent service's access-report flow: a customer's audit entries from every node.

DESIGN "Audit": a customer's access report is assembled across the nodes through
the federation. For a signed-in customer the consent service signs one
``audit_subject_report`` request per member organisation (``federation.envelope``,
its own Ed25519 key; nodes refuse the action from anyone but the registry's
consent service), each node answers with that subject's entries only, sealed to
the service's X25519 key, and every entry is checked against the node's signed
tree head with its inclusion proof (RFC 9162 §2.1.3) by
``federation.tree_head.collect_proven_entries`` before it is kept.

A node that does not answer within the deadline, refuses, or sends an answer that
fails a check contributes no entries and is named in ``AccessReport.missing``, so the
page can say the report is incomplete instead of looking complete.

The lifespan in ``consent.main`` installs ``report_for_app`` on
``app.state.access_report``; it reads the one shared ``httpx.AsyncClient``, the
keys and the current registry from ``app.state`` at each call.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any, Literal

import httpx

from federation.errors import JoinedUpError
from federation.keys import MemberKeys
from federation.registry import CONSENT_SERVICE_ID, Registry
from federation.tree_head import SUBJECT_REPORT_ACTION, collect_proven_entries

log = logging.getLogger("joinedup.consent.access_report")

MissingStatus = Literal["unavailable", "refused", "invalid"]


class AccessReportUnavailable(JoinedUpError):
    """No report can be assembled at all (no registry: a registry-less demo)."""

    status_code = 503
    title = "Service unavailable"
    type_slug = "service-unavailable"


@dataclass(frozen=True)
class MissingPart:
    """An organisation whose part of the report could not be fetched, and why."""

    org_id: str
    status: MissingStatus


@dataclass(frozen=True)
class AccessReport:
    """Proof-checked entries about one subject, and the organisations that are missing."""

    entries: list[dict[str, Any]] = field(default_factory=list)
    missing: list[MissingPart] = field(default_factory=list)

    @property
    def complete(self) -> bool:
        return not self.missing


async def assemble_access_report(
    *,
    client: httpx.AsyncClient,
    registry: Registry,
    keys: MemberKeys,
    subject_id: str,
    deadline_s: float,
) -> AccessReport:
    """Ask every member organisation for ``subject_id``'s entries; keep the checked ones.

    Each item is the canonical entry plus ``org_id`` (who acted: the entry's
    ``actor_org``), ``logged_by`` (whose log holds it) and ``proof_ok`` (always true:
    an entry whose proof fails is never kept, and its node is listed as missing).
    """
    sections = await collect_proven_entries(
        client=client,
        registry=registry,
        keys=keys,
        me=CONSENT_SERVICE_ID,
        action=SUBJECT_REPORT_ACTION,
        body={"subject_id": subject_id},
        deadline_s=deadline_s,
    )
    entries: list[dict[str, Any]] = []
    missing: list[MissingPart] = []
    for section in sections:
        if section.status != "ok":
            # Ids and a status only: the subject is personal data and stays out of logs.
            log.warning(
                "access report incomplete", extra={"org": section.org_id, "status": section.status}
            )
            missing.append(MissingPart(org_id=section.org_id, status=section.status))
            continue
        for entry in section.entries:
            if entry.get("subject_id") != subject_id:
                continue  # a node answering about someone else is ignored, never shown
            entries.append(
                {
                    **entry,
                    "org_id": entry.get("actor_org"),
                    "logged_by": section.org_id,
                    "proof_ok": True,
                }
            )
    return AccessReport(entries=entries, missing=missing)


async def report_for_app(app: Any, subject_id: str) -> AccessReport:
    """The report for the page, from what the lifespan put on ``app.state``."""
    state = app.state
    holder = getattr(state, "registry", None)
    if holder is None:
        raise AccessReportUnavailable("no member registry: there is no one to ask")
    return await assemble_access_report(
        client=state.http,
        registry=holder.current(),
        keys=state.keys,
        subject_id=subject_id,
        deadline_s=state.settings.access_report_deadline_s,
    )

"""Dependencies of ``POST /views``: who may ask, and what the flow needs from the app."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

import httpx
from fastapi import Depends, Request
from sqlalchemy.engine import Engine

from appkit.outbox import OutboxWorker
from federation.keys import MemberKeys
from federation.registry import Registry
from federation.vocabulary import Vocabulary
from node.auth.dependencies import RequireRole, StaffPrincipal
from node.config import NodeSettings
from node.federation.dependencies import RegistryDep
from node.views.token_cache import ConsentTokenCache

# Staff who work with a person's needs; auditors, admins and analysts do not see views.
VIEW_ROLES = ("frontline", "coordinator", "safeguarding_lead")

ViewStaff = Annotated[StaffPrincipal, Depends(RequireRole(*VIEW_ROLES))]


@dataclass(frozen=True)
class ViewContext:
    """This node's part in a view: its identity, keys, client, database and vocabulary."""

    settings: NodeSettings
    keys: MemberKeys
    client: httpx.AsyncClient
    engine: Engine
    registry: Registry
    vocabulary: Vocabulary
    # Keys retired by `joinedup keys rotate`: a partner still holding the previous
    # registry version seals its answer to the old encryption key.
    retired_keys: tuple[MemberKeys, ...] = ()
    outbox: OutboxWorker | None = None  # woken after a view queues a customer notice
    consent_tokens: ConsentTokenCache | None = None  # None: fetch a token for every view


def view_context(request: Request, registry: RegistryDep) -> ViewContext:
    """Everything the view flow reads from the app (503 if not in a federation)."""
    state = request.app.state
    return ViewContext(
        settings=state.settings,
        keys=state.keys,
        client=state.http,
        engine=state.engine,
        registry=registry,
        vocabulary=state.vocabulary,
        retired_keys=tuple(getattr(state, "retired_keys", ())),
        outbox=getattr(state, "outbox", None),
        consent_tokens=getattr(state, "consent_tokens", None),
    )


ViewContextDep = Annotated[ViewContext, Depends(view_context)]

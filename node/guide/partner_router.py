"""The needs guide's partner endpoints: serving this node's catalogue, hearing announcements.

``GET /federation/guide/catalogue`` serves the signed catalogue as stored
(``{"catalogue": …, "signature": …}``, ``federation.catalogue``) with a strong
ETag; ``If-None-Match`` naming the current version answers 304 without a body.
It is served to members only: the bearer token is a signed ``guide_fetch``
request addressed to this node (``federation.envelope``, checked like any
partner request but against the in-memory replay cache only: a GET changes
nothing, so a replayed fetch gains nobody anything the fetcher could not get).

``POST /federation/guide/announce`` takes a partner's signed ``guide_announce``
and queues a fetch of its catalogue at once. The version it names is only a hint:
what gets stored is what the fetch verifies. Announcements are idempotent by
nature (a second one fetches again and gets a 304).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Request, Response

from appkit.problems import PROBLEM_RESPONSES
from federation.envelope import VerifiedRequest, verify_request
from federation.errors import ValidationFailed
from federation.wire import MalformedMessage
from federation.wire.guide import GuideAnnounce, GuideFetch
from node.db import SessionDep
from node.federation.dependencies import SIGNED_REQUEST_OPENAPI, RegistryDep, verified_request
from node.guide.exceptions import CatalogueNotPublished, GuideFetchUnsigned
from node.guide.schemas import AnnounceReceived
from node.guide.service import current_etag, current_publication

router = APIRouter(prefix="/federation/guide", tags=["federation"], responses=PROBLEM_RESPONSES)

AnnounceRequest = Annotated[VerifiedRequest, Depends(verified_request(GuideAnnounce.action))]
_CATALOGUE_ANSWERS: dict[int | str, dict[str, Any]] = {
    200: {"description": 'The signed catalogue: {"catalogue": {...}, "signature": "<JWS>"}'},
    304: {"description": "Not modified: the ETag in If-None-Match is current"},
}


def member_fetch(
    request: Request,
    registry: RegistryDep,
    authorization: Annotated[str | None, Header(max_length=200_000)] = None,
) -> VerifiedRequest:
    """The member behind a catalogue fetch (its signed ``guide_fetch`` bearer token)."""
    scheme, _, token = (authorization or "").partition(" ")
    if scheme.lower() != "bearer" or token.count(".") != 2:
        raise GuideFetchUnsigned("send a signed guide_fetch request as the bearer token")
    return verify_request(
        token.strip(),
        registry=registry,
        audience=request.app.state.settings.org_id,
        replay_cache=request.app.state.replay_cache,
        expected_action=GuideFetch.action,
    )


@router.get("/catalogue", responses=_CATALOGUE_ANSWERS, response_model=None)
def read_published_catalogue(
    session: SessionDep,
    member: Annotated[VerifiedRequest, Depends(member_fetch)],
    if_none_match: Annotated[str | None, Header(max_length=1_000)] = None,
) -> Response:
    """This node's signed service catalogue (conditional GET with ETag)."""
    etag = current_etag(session=session)
    if etag is None:
        raise CatalogueNotPublished("this node has not published its catalogue yet")
    headers = {"ETag": etag, "Cache-Control": "no-cache"}
    offered = {tag.strip() for tag in (if_none_match or "").split(",")}
    if etag in offered or "*" in offered:
        return Response(status_code=304, headers=headers)
    publication = current_publication(session=session)
    if publication is None:  # withdrawn between the two reads: cannot happen, but say so
        raise CatalogueNotPublished("this node has not published its catalogue yet")
    # The stored text as it was signed: no re-encoding of a large document per fetch.
    headers["ETag"] = publication.etag
    return Response(publication.signed, media_type="application/json", headers=headers)


@router.post(
    "/announce",
    response_model=AnnounceReceived,
    status_code=202,
    openapi_extra=SIGNED_REQUEST_OPENAPI,
)
async def receive_announce(request: Request, verified: AnnounceRequest) -> AnnounceReceived:
    """A partner published a new catalogue version: fetch it now."""
    try:
        GuideAnnounce.from_body(verified.body)
    except MalformedMessage as exc:
        raise ValidationFailed(str(exc)) from None
    refresher = getattr(request.app.state, "guide", None)
    if refresher is not None:
        refresher.wake(verified.issuer)
    return AnnounceReceived()

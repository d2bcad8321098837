"""The needs guide's staff API: the admins' catalogue, the guide's search and sources.

Admins (role ``admin``) manage this organisation's services; every change is
published at once as the catalogue's next signed version and announced to the
partners (``node.guide.service``). Every staff member may search the guide.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, BackgroundTasks, Query, Request, Response
from fastapi import Path as PathParam

from appkit.problems import PROBLEM_RESPONSES
from appkit.sqltypes import utcnow
from federation.catalogue import MAX_AGE, SERVICE_ID_PATTERN, ServiceEntry
from federation.errors import ValidationFailed
from node.auth.dependencies import AdminStaff, CurrentStaff, RequestId, StaffPrincipal
from node.db import SessionDep
from node.guide import flows, service
from node.guide.exceptions import CatalogueNotPublished
from node.guide.schemas import (
    CataloguePublic,
    GuideSearchPublic,
    GuideSourcesPublic,
    ServicePublic,
    ServicesPublic,
    ServiceUpdate,
)
from node.records.dependencies import PageDep

router = APIRouter(prefix="/guide", tags=["guide"], responses=PROBLEM_RESPONSES)

ServiceKey = Annotated[
    str,
    PathParam(min_length=1, max_length=64, pattern=SERVICE_ID_PATTERN, description="Service id."),
]


def _publish(
    request: Request,
    session: SessionDep,
    background: BackgroundTasks,
    *,
    staff: StaffPrincipal,
    request_id: str,
    change: str,
) -> None:
    flows.publish_for_staff(
        session=session,
        state=request.app.state,
        background=background,
        staff=staff,
        request_id=request_id,
        change=change,
    )


@router.get("/services", response_model=ServicesPublic)
def list_services(session: SessionDep, staff: AdminStaff) -> ServicesPublic:
    """This organisation's services, as published."""
    data = service.list_services(session=session)
    return ServicesPublic(data=data, count=len(data))


@router.post("/services", response_model=ServicePublic, status_code=201)
def create_service(
    request: Request,
    entry: ServiceEntry,
    session: SessionDep,
    staff: AdminStaff,
    request_id: RequestId,
    background: BackgroundTasks,
) -> ServiceEntry:
    """Add a service to this organisation's catalogue and publish it."""
    _check_categories(request, entry.categories)
    created = service.create_service(session=session, entry=entry, now=utcnow())
    change = f"service {entry.id} added"
    _publish(request, session, background, staff=staff, request_id=request_id, change=change)
    return created


@router.get("/services/{service_key}", response_model=ServicePublic)
def read_service(service_key: ServiceKey, session: SessionDep, staff: AdminStaff) -> ServiceEntry:
    """One of this organisation's services."""
    return service.get_service(session=session, service_key=service_key)


@router.patch("/services/{service_key}", response_model=ServicePublic)
def update_service(
    request: Request,
    service_key: ServiceKey,
    changes: ServiceUpdate,
    session: SessionDep,
    staff: AdminStaff,
    request_id: RequestId,
    background: BackgroundTasks,
) -> ServiceEntry:
    """Change a service (its capacity, say) and publish the catalogue again."""
    if changes.categories is not None:
        _check_categories(request, changes.categories)
    updated = service.update_service(
        session=session, service_key=service_key, changes=changes.changes(), now=utcnow()
    )
    change = f"service {service_key} changed ({', '.join(sorted(changes.changes())) or 'nothing'})"
    _publish(request, session, background, staff=staff, request_id=request_id, change=change)
    return updated


@router.delete("/services/{service_key}", status_code=204)
def delete_service(
    request: Request,
    service_key: ServiceKey,
    session: SessionDep,
    staff: AdminStaff,
    request_id: RequestId,
    background: BackgroundTasks,
) -> Response:
    """Remove a service from the catalogue and publish it again."""
    service.delete_service(session=session, service_key=service_key)
    change = f"service {service_key} removed"
    _publish(request, session, background, staff=staff, request_id=request_id, change=change)
    return Response(status_code=204)


@router.get("/catalogue", response_model=CataloguePublic)
def read_catalogue(session: SessionDep, staff: CurrentStaff) -> CataloguePublic:
    """The version, ETag and size of the catalogue partners fetch."""
    publication = service.current_publication(session=session)
    if publication is None:
        raise CatalogueNotPublished("this node has not published its catalogue yet")
    return CataloguePublic(
        version=publication.version,
        etag=publication.etag,
        published_at=publication.published_at,
        services=service.published_service_count(publication),
    )


@router.get("/search", response_model=GuideSearchPublic)
def search_guide(
    request: Request,
    session: SessionDep,
    staff: CurrentStaff,
    page: PageDep,
    q: Annotated[str, Query(max_length=200, description="Free text.")] = "",
    category: Annotated[str | None, Query(max_length=64, description="Need category.")] = None,
    age: Annotated[int | None, Query(ge=0, le=MAX_AGE, description="The person's age.")] = None,
    postcode: Annotated[
        str | None, Query(max_length=10, description="The person's postcode or district.")
    ] = None,
) -> GuideSearchPublic:
    """Services across the federation that may help, best capacity first."""
    state = request.app.state
    return flows.find_help(
        session=session,
        registry=flows.current_registry(state),
        me=state.settings.org_id,
        my_name=state.settings.org_name,
        text=q,
        category=category or None,
        age=age,
        postcode=postcode or None,
        limit=page.limit,
        offset=page.offset,
    )


@router.get("/sources", response_model=GuideSourcesPublic)
def list_sources(request: Request, session: SessionDep, staff: CurrentStaff) -> GuideSourcesPublic:
    """Whose catalogues the guide holds, which versions, and how fresh they are."""
    state = request.app.state
    return flows.list_sources(
        session=session,
        registry=flows.current_registry(state),
        me=state.settings.org_id,
        my_name=state.settings.org_name,
    )


@router.post("/sources/refresh", status_code=202, response_model=None)
async def refresh_sources(request: Request, staff: AdminStaff) -> Response:
    """Fetch every partner's catalogue again now (in the background)."""
    refresher = getattr(request.app.state, "guide", None)
    if refresher is not None:
        refresher.wake()
    return Response(status_code=202)


def _check_categories(request: Request, categories: list[str]) -> None:
    unknown = [c for c in categories if c not in request.app.state.vocabulary.categories]
    if unknown:
        raise ValidationFailed(f"unknown need categories: {', '.join(sorted(unknown))}")

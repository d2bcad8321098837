"""``POST /views``: a staff member asks for a joined-up view of one person's needs."""

from __future__ import annotations

from fastapi import APIRouter, Response

from appkit.problems import PROBLEM_RESPONSES, problem_doc
from federation.view import JoinedUpView
from node.views.dependencies import ViewContextDep, ViewStaff
from node.views.flows import request_joined_up_view
from node.views.schemas import ViewRequest

router = APIRouter(tags=["views"], responses=PROBLEM_RESPONSES)


@router.post(
    "/views",
    response_model=JoinedUpView,
    responses={
        503: problem_doc(
            503,
            "Not in a federation, or audit down",
            title="Not in a federation",
            slug="not-in-federation",
            detail="this node is not configured with a federation registry",
        )
    },
)
async def request_view(
    body: ViewRequest, staff: ViewStaff, context: ViewContextDep, response: Response
) -> JoinedUpView:
    """Assemble a joined-up view across the federation; it is returned, never stored."""
    timings: dict[str, float] = {}
    view = await request_joined_up_view(context=context, staff=staff, request=body, timings=timings)
    # W3C Server Timing: where a view's time went, for operators and the benchmark.
    response.headers["Server-Timing"] = ", ".join(f"{k};dur={v}" for k, v in timings.items())
    return view

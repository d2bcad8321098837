"""RFC 9457 problem details for every joinedup app.

``install_problem_handlers(app)`` makes domain errors, request-validation errors,
HTTP errors and anything unexpected answer ``application/problem+json``. An
unexpected exception is logged with its type only (never its message, which may
hold personal data) and answered 500 with a generic body; tests and schemathesis
treat any 500 as a bug.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from starlette.exceptions import HTTPException as StarletteHTTPException

from federation.errors import JoinedUpError

log = logging.getLogger("joinedup.problems")

PROBLEM_MEDIA_TYPE = "application/problem+json"
PROBLEM_TYPE_BASE = "https://joinedup.example/problems/"


class Problem(BaseModel):
    """RFC 9457 problem details body, as documented in every OpenAPI schema."""

    type: str = "about:blank"
    title: str
    status: int
    detail: str | None = None
    instance: str | None = None
    errors: list[dict[str, Any]] | None = None


PROBLEM_RESPONSES: dict[int | str, dict[str, Any]] = {
    code: {"model": Problem, "content": {PROBLEM_MEDIA_TYPE: {}}, "description": desc}
    for code, desc in [
        (400, "Bad request"),
        (401, "Not authenticated"),
        (403, "Not permitted"),
        (404, "Not found"),
        (409, "Conflict"),
        (422, "Validation failed"),
    ]
}


def problem_response(
    *,
    status: int,
    title: str,
    detail: str | None,
    slug: str | None,
    instance: str | None = None,
    errors: list[dict[str, Any]] | None = None,
) -> JSONResponse:
    body = Problem(
        type=f"{PROBLEM_TYPE_BASE}{slug}" if slug else "about:blank",
        title=title,
        status=status,
        detail=detail,
        instance=instance,
        errors=errors,
    )
    return JSONResponse(
        body.model_dump(exclude_none=True), status_code=status, media_type=PROBLEM_MEDIA_TYPE
    )


def _safe_errors(exc: RequestValidationError) -> list[dict[str, Any]]:
    # Echo where and why, never the offending value: it may be personal data.
    return [
        {
            "loc": [str(p) for p in err.get("loc", ())],
            "msg": str(err.get("msg", "")),
            "type": str(err.get("type", "")),
        }
        for err in exc.errors()
    ]


def install_problem_handlers(app: FastAPI) -> None:
    """Register the problem+json handlers on ``app``."""

    @app.exception_handler(JoinedUpError)
    async def handle_domain_error(request: Request, exc: JoinedUpError) -> JSONResponse:
        return problem_response(
            status=exc.status_code,
            title=exc.title,
            detail=exc.message,
            slug=exc.type_slug,
            instance=request.url.path,
        )

    @app.exception_handler(RequestValidationError)
    async def handle_validation_error(
        request: Request, exc: RequestValidationError
    ) -> JSONResponse:
        return problem_response(
            status=422,
            title="Validation failed",
            detail="The request is not valid.",
            slug="validation-failed",
            instance=request.url.path,
            errors=_safe_errors(exc),
        )

    @app.exception_handler(StarletteHTTPException)
    async def handle_http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        response = problem_response(
            status=exc.status_code,
            title=str(exc.detail),
            detail=str(exc.detail),
            slug=None,
            instance=request.url.path,
        )
        if exc.headers:
            response.headers.update(exc.headers)
        return response

    @app.exception_handler(Exception)
    async def handle_unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.error("unexpected %s on %s %s", type(exc).__name__, request.method, request.url.path)
        return problem_response(
            status=500,
            title="Internal error",
            detail="An unexpected error occurred.",
            slug="internal-error",
            instance=request.url.path,
        )

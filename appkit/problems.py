"""RFC 9457 problem details for every joinedup app.

``install_problem_handlers(app, bearer_realm=...)`` makes domain errors,
request-validation errors, HTTP errors and anything unexpected answer
``application/problem+json``; a missing or bad sign-in (``NotAuthenticated``) also
names the bearer scheme and the app's realm (RFC 6750 §3). An
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

from federation.errors import JoinedUpError, NotAuthenticated

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


# One documented example per status (RFC 9457 §3.1 members); the ``type`` URIs are
# those the handlers below and in each app's ``main.py`` actually send.
_DOCUMENTED: list[tuple[int, str, str, str]] = [
    (400, "Bad request", "bad-request", "the request body is not valid JSON"),
    (401, "Not authenticated", "not-authenticated", "a bearer token is required"),
    (403, "Not permitted", "not-permitted", "this role may not see personal records"),
    (404, "Not found", "not-found", "person 999 not found"),
    (409, "Conflict", "conflict", "the change conflicts with existing records"),
    (413, "Payload too large", "payload-too-large", "request body too large"),
    (422, "Validation failed", "validation-failed", "The request is not valid."),
]
_EXAMPLE_INSTANCE = "/persons/999"
_EXAMPLE_ERRORS: dict[int, list[dict[str, Any]]] = {
    422: [
        {
            "loc": ["body", "date_of_birth"],
            "msg": "Value error, date must not be in the future",
            "type": "value_error",
        }
    ]
}


def problem_example(*, status: int, title: str, slug: str, detail: str) -> dict[str, Any]:
    """An example problem+json body for the OpenAPI schema (never sent to a client)."""
    example = Problem(
        type=f"{PROBLEM_TYPE_BASE}{slug}",
        title=title,
        status=status,
        detail=detail,
        instance=_EXAMPLE_INSTANCE,
        errors=_EXAMPLE_ERRORS.get(status),
    )
    return example.model_dump(exclude_none=True)


def problem_doc(
    status: int, description: str, *, title: str, slug: str, detail: str
) -> dict[str, Any]:
    """The OpenAPI ``responses`` entry for a problem+json answer with ``status``.

    ``model`` registers the ``Problem`` component (FastAPI also lists it under
    ``application/json``); the problem+json media type, which is what is actually
    sent, refers to it and carries the example.
    """
    return {
        "model": Problem,
        "description": description,
        "content": {
            PROBLEM_MEDIA_TYPE: {
                "schema": {"$ref": "#/components/schemas/Problem"},
                "example": problem_example(status=status, title=title, slug=slug, detail=detail),
            }
        },
    }


PROBLEM_RESPONSES: dict[int | str, dict[str, Any]] = {
    code: problem_doc(code, title, title=title, slug=slug, detail=detail)
    for code, title, slug, detail in _DOCUMENTED
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


def domain_problem(request: Request, exc: JoinedUpError) -> JSONResponse:
    """The problem+json answer for a domain error raised while serving ``request``."""
    return problem_response(
        status=exc.status_code,
        title=exc.title,
        detail=exc.message,
        slug=exc.type_slug,
        instance=request.url.path,
    )


def install_problem_handlers(app: FastAPI, *, bearer_realm: str = "joinedup") -> None:
    """Register the problem+json handlers on ``app``; 401s name ``bearer_realm``."""

    @app.exception_handler(JoinedUpError)
    async def handle_domain_error(request: Request, exc: JoinedUpError) -> JSONResponse:
        return domain_problem(request, exc)

    @app.exception_handler(NotAuthenticated)
    async def handle_not_authenticated(request: Request, exc: NotAuthenticated) -> JSONResponse:
        # RFC 6750 §3: a 401 for a bearer-protected resource names the scheme.
        response = domain_problem(request, exc)
        response.headers["WWW-Authenticate"] = f'Bearer realm="{bearer_realm}"'
        return response

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

"""The HTML page kit both apps use: templates, ``render``, error pages and the route class.

The APIs answer RFC 9457 problem+json (``appkit.problems``); a person in a browser
needs a page instead. Each app makes one ``PageKit`` for its pages (its templates
folder, URL prefix, session and CSRF cookies, date filters and what every page
shows, such as the signed-in person); partials both apps include live in
``appkit/templates``. Its ``route_class`` turns domain errors into
pages: a missing or expired sign-in becomes a redirect to the sign-in form, anything
else a page with the status code and a plain message — never a 500 for bad input.
``error_page`` is also what ``appkit.database_errors`` answers a browser with when
the database fails (``wants_page``). Every page is ``no-store`` because most carry
personal data that the design says is "shown, and forgotten".
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any
from urllib.parse import quote

from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute
from fastapi.templating import Jinja2Templates
from starlette.datastructures import FormData
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.formparsers import MultiPartException
from starlette.requests import Request
from starlette.responses import FileResponse, RedirectResponse, Response

from appkit.csrf import CSRF_FIELD, DoubleSubmitCsrf
from appkit.labels import load_labels
from federation.errors import BadRequest, JoinedUpError, NotAuthenticated, NotFound, NotPermitted

__all__ = [
    "ERROR_TITLES",
    "SECURITY_HEADERS",
    "SIGN_IN_INCOMPLETE",
    "SIGN_IN_REFUSED",
    "PageKit",
    "SignInEntry",
    "wants_page",
]

SECURITY_HEADERS = {
    "Cache-Control": "no-store",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
    # Inline SVG needs no script; the few small scripts are same-origin files.
    "Content-Security-Policy": (
        "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
        "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
    ),
}
# The heading of an error page, by status; an app may reword some (``PageKit.titles``).
ERROR_TITLES = {
    400: "That request could not be read",
    403: "You do not have access to this page",
    404: "Not found",
    405: "Not allowed",
    409: "That conflicts with what is already recorded",
    413: "That was too large",
    422: "Some of what you entered could not be used",
    503: "This service is busy",
}
INVALID_INPUT = "Check the address or the form and try again."
# What both apps' templates share: the page layout (``_layout.html``, which each
# app's ``base.html`` extends), a form's error summary and the sign-in form.
SHARED_TEMPLATES_DIR = Path(__file__).resolve().parent / "templates"

PageContext = Callable[[Request], Mapping[str, Any]]
# What a sign-in form says when it cannot sign the person in (both apps' words).
SIGN_IN_INCOMPLETE = "Enter your username and your password."
SIGN_IN_REFUSED = "That username and password did not match an active account."
MAX_USERNAME = 64


@dataclass(frozen=True)
class SignInEntry:
    """What the sign-in form sent: a trimmed username, the password, a safe next page."""

    username: str
    password: str
    next: str

    @property
    def complete(self) -> bool:
        return bool(self.username and self.password)


def wants_page(request: Request) -> bool:
    """True when the client asked for HTML (a browser), not JSON (an API client)."""
    return "text/html" in request.headers.get("accept", "").lower()


@dataclass(frozen=True)
class PageKit:
    """One app's pages: where they live, their cookies, filters and shared context."""

    templates_dir: Path
    prefix: str  # e.g. "/ui": the pages' URLs, and the path of their cookies
    session_cookie: str
    csrf: DoubleSubmitCsrf
    filters: Mapping[str, Callable[[Any], str]] = field(default_factory=dict)
    page_context: PageContext = lambda _request: {}
    titles: Mapping[int, str] = field(default_factory=dict)
    static_dir: Path | None = None
    static_files: Mapping[str, str] = field(default_factory=dict)  # name: media type
    max_form_fields: int = 200

    @cached_property
    def templates(self) -> Jinja2Templates:
        """The app's one Jinja2 environment (built on first use)."""
        # The app's own templates first: an app may override a shared partial.
        env = Jinja2Templates(directory=[self.templates_dir, SHARED_TEMPLATES_DIR])
        env.env.filters.update(self.filters)
        env.env.globals["labels"] = load_labels()
        env.env.globals["csrf_field"] = CSRF_FIELD
        env.env.globals["prefix"] = self.prefix
        return env

    def render(
        self,
        request: Request,
        name: str,
        context: Mapping[str, Any] | None = None,
        status_code: int = 200,
    ) -> Response:
        """Render ``name`` with the app's shared context, the CSRF token and the labels."""
        page = dict(context or {})
        for key, value in self.page_context(request).items():
            page.setdefault(key, value)
        page["csrf_token"] = self.csrf.token_for(request)
        response = self.templates.TemplateResponse(request, name, page, status_code=status_code)
        response.headers.update(SECURITY_HEADERS)
        self.csrf.set_cookie(request, response, path=self.prefix)
        return response

    def error_page(self, request: Request, status_code: int, message: str) -> Response:
        """The page for an error: a plain heading for the status and ``message``."""
        title = self.titles.get(status_code) or ERROR_TITLES.get(
            status_code, "Something went wrong"
        )
        context = {"title": title, "message": message}
        return self.render(request, "error.html", context, status_code=status_code)

    def read_sign_in(self, form: FormData) -> SignInEntry:
        """The sign-in form's fields; anything that is not text reads as empty."""
        username, password = form.get("username"), form.get("password")
        if not isinstance(username, str) or not isinstance(password, str):
            username, password = "", ""
        return SignInEntry(
            username.strip()[:MAX_USERNAME], password, self.safe_next(form.get("next"))
        )

    def sign_in_page(
        self, request: Request, entry: SignInEntry, *, error: str = "", status_code: int = 200
    ) -> Response:
        """The sign-in form again, with the username kept and ``error`` said."""
        context = {"next": entry.next, "username": entry.username, "error": error}
        return self.render(request, "login.html", context, status_code=status_code)

    def start_session(
        self, request: Request, response: Response, token: str, *, ttl_s: int
    ) -> Response:
        """Keep the signed-in person's ``token`` in the session cookie of ``response``.

        ``HttpOnly`` (no script can read it), ``SameSite=Strict`` (no other site's
        request carries it), ``Secure`` over HTTPS, and sent to these pages only.
        """
        response.set_cookie(
            self.session_cookie,
            token,
            max_age=ttl_s,
            httponly=True,
            samesite="strict",
            secure=request.url.scheme == "https",
            path=self.prefix,
        )
        return response

    def end_session(self, response: Response) -> Response:
        """Forget the session cookie (sign-out, or a sign-in that is no longer valid)."""
        response.delete_cookie(self.session_cookie, path=self.prefix)
        return response

    def login_redirect(self, request: Request) -> RedirectResponse:
        """To the sign-in form, then back: to this page, or the start page after a form.

        A form's data is lost with the sign-in, and its address may not answer a GET.
        """
        target = self.prefix + "/"
        if request.method == "GET":
            target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        response = RedirectResponse(f"{self.prefix}/login?next={quote(target, safe='')}", 303)
        self.end_session(response)
        return response

    async def csrf_form(self, request: Request) -> FormData:
        """The POSTed form, refused (403) unless its CSRF token and origin check out.

        Use it as a dependency: ``Annotated[FormData, Depends(KIT.csrf_form)]``.
        """
        try:
            form = await request.form(max_fields=self.max_form_fields, max_files=0)
        except (StarletteHTTPException, MultiPartException, ValueError) as exc:
            raise BadRequest("The form could not be read.") from exc
        if not self.csrf.ok(request, form):
            raise NotPermitted(
                "This form has expired or did not come from this site. "
                "Reload the page and try again."
            )
        return form

    def safe_next(self, target: object) -> str:
        """Only a path inside these pages, never another site (open-redirect guard)."""
        if (
            isinstance(target, str)
            and target.startswith(self.prefix + "/")
            and "//" not in target
            and "\\" not in target
            and len(target) <= 500
        ):
            return target
        return self.prefix + "/"

    def static_file(self, name: str) -> Response:
        """One of the pages' own static files (stylesheet, small scripts); 404 otherwise."""
        if self.static_dir is None or name not in self.static_files:
            raise NotFound("no such file")
        return FileResponse(
            self.static_dir / name,
            media_type=self.static_files[name],
            headers={"Cache-Control": "public, max-age=300"},
        )

    @cached_property
    def route_class(self) -> type[APIRoute]:
        """An APIRoute whose domain and validation errors become this app's pages."""
        kit = self

        class PageRoute(APIRoute):
            def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
                original = super().get_route_handler()

                async def handle(request: Request) -> Response:
                    try:
                        return await original(request)
                    except NotAuthenticated:
                        return kit.login_redirect(request)
                    except JoinedUpError as exc:
                        code = exc.status_code if 400 <= exc.status_code < 600 else 500
                        return kit.error_page(request, code, exc.message)
                    except RequestValidationError:
                        return kit.error_page(request, 422, INVALID_INPUT)
                    except StarletteHTTPException as exc:
                        return kit.error_page(request, exc.status_code, str(exc.detail))

                return handle

        return PageRoute

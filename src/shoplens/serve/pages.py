"""Dashboard pages: rendering with Jinja2, the navigation built from registered pages, and sign-in.

A page needs a signed-in session (a read key). Signing in: the form at ``/login``, or a link with
``?key=<API key>`` once — the service answers with a redirect to the same page without the key and sets
the session cookie (HttpOnly, SameSite=Lax, Secure over HTTPS). The cookie holds a random session
token, never the key.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import quote

import duckdb
from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import RedirectResponse, Response
from fastapi.templating import Jinja2Templates

from shoplens import __version__
from shoplens.errors import ShoplensError
from shoplens.serve.auth import KeyInfo
from shoplens.serve.deps import ServiceState, get_state, session_key
from shoplens.serve.errors import one_line
from shoplens.serve.registry import Page
from shoplens.serve.sessions import COOKIE_NAME
from shoplens.serve.warehouse import Warehouse
from shoplens.workspace import Workspace

PACKAGE_DIR = Path(__file__).parent
TEMPLATES_DIR = PACKAGE_DIR / "templates"
STATIC_DIR = PACKAGE_DIR / "static"
LOGIN_PATH = "/login"

templates = Jinja2Templates(directory=str(TEMPLATES_DIR))


def navigation(pages: list[Page]) -> list[dict[str, str]]:
    return [{"path": p.path, "title": p.title} for p in pages]


def safe_next(path: str | None, pages: list[Page]) -> str:
    """Where to go after signing in: a registered page, never another site."""
    known = [p.path for p in pages]
    return path if path in known else (known[0] if known else "/")


def render(request: Request, state: ServiceState, template: str, context: dict[str, Any], *,
           status_code: int = 200, key: KeyInfo | None = None, active: str | None = None) -> Response:
    common = {"nav": navigation(state.pages), "active": active, "key": key, "version": __version__,
              "shop": _shop_name(state)}
    return templates.TemplateResponse(request, template, {**common, **context}, status_code=status_code)


def _shop_name(state: ServiceState) -> str:
    try:
        return Workspace.open(state.workspace_path).config.name
    except ShoplensError:
        return state.workspace_path.name


def login_form(request: Request, state: ServiceState, next_path: str, *, error: str | None = None,
               status_code: int = 200) -> Response:
    return render(request, state, "login.html", {"next": next_path, "error": error, "title": "Sign in"},
                  status_code=status_code)


def sign_in(request: Request, state: ServiceState, key: str, next_path: str) -> Response:
    """Check the key; on success start a session and redirect to ``next_path`` (without the key)."""
    info = state.keys.verify(key)
    if info is None:
        return login_form(request, state, next_path, error="That key is not valid (or was revoked).",
                          status_code=401)
    response = RedirectResponse(next_path, status_code=303)
    response.set_cookie(COOKIE_NAME, state.sessions.start(info.id), max_age=int(state.settings.session_hours * 3600),
                        path="/", httponly=True, samesite="lax", secure=request.url.scheme == "https")
    return response


def sign_out(request: Request, state: ServiceState) -> Response:
    state.sessions.end(request.cookies.get(COOKIE_NAME))
    response = RedirectResponse(LOGIN_PATH, status_code=303)
    response.delete_cookie(COOKIE_NAME, path="/", httponly=True, samesite="lax")
    return response


def show_page(page: Page, request: Request, state: ServiceState, key: str | None) -> Response:
    if key is not None:
        return sign_in(request, state, key, page.path)
    info = session_key(request, state)
    if info is None:
        return RedirectResponse(f"{LOGIN_PATH}?next={quote(page.path)}", status_code=303)
    try:
        warehouse = Warehouse(Workspace.open(state.workspace_path), state.gate, state.settings.write_wait_s)
        context, status_code = dict(page.context(warehouse)), 200
    except (ShoplensError, duckdb.IOException, duckdb.ConnectionException) as exc:
        context, status_code = {"error": one_line(str(exc))}, 503
    context.setdefault("title", page.title)
    return render(request, state, page.template, context, status_code=status_code, key=info, active=page.path)


def page_router(pages: list[Page]) -> APIRouter:
    """One ``GET`` route per registered page (not part of the OpenAPI schema: they answer HTML)."""
    router = APIRouter(include_in_schema=False)
    for page in pages:
        router.add_api_route(page.path, _endpoint(page), methods=["GET"], response_class=Response)
    return router


def _endpoint(page: Page):
    def endpoint(request: Request, key: str | None = Query(None, description="sign in with this API key once"),
                 state: ServiceState = Depends(get_state)) -> Response:
        return show_page(page, request, state, key)

    endpoint.__name__ = f"page_{page.path.strip('/').replace('/', '_') or 'home'}"
    return endpoint

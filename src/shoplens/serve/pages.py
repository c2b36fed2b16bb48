"""Dashboard pages: rendering with Jinja2, the navigation built from registered pages, and sign-in.

A page needs a signed-in session (a read key). Signing in: the form at ``/login``, or a link with
``?key=<API key>`` once — the service answers with a redirect to the same page without the key and sets
the session cookie (HttpOnly, SameSite=Lax, Secure over HTTPS). The cookie holds a random session
token, never the key.

Every page gets its address's :class:`PageQuery` (the period filter ``from``/``to`` and its own parameters); a
table page (``Page.tables``) also answers ``GET <path>/<table>.csv`` with the rows of that table for the same
query, to the same session or key (role read).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import quote

import duckdb
from fastapi import APIRouter, Depends, Query, Request
from fastapi import Path as PathParam
from fastapi.responses import RedirectResponse, Response
from fastapi.templating import Jinja2Templates

from shoplens import __version__
from shoplens.errors import InputError, NotFound, ShoplensError
from shoplens.formats import language_of, money
from shoplens.serve.auth import KeyInfo
from shoplens.serve.datatable import slug
from shoplens.serve.deps import ServiceState, get_state, require_read, session_key
from shoplens.serve.errors import one_line
from shoplens.serve.registry import Page, PageQuery
from shoplens.serve.sessions import COOKIE_NAME
from shoplens.serve.warehouse import Warehouse
from shoplens.workspace import Workspace

PACKAGE_DIR = Path(__file__).parent
TEMPLATES_DIR = PACKAGE_DIR / "templates"
STATIC_DIR = PACKAGE_DIR / "static"
LOGIN_PATH = "/login"

templates = Jinja2Templates(directory=str(TEMPLATES_DIR))
templates.env.filters["money"] = money
templates.env.globals["language_of"] = language_of


def navigation(pages: list[Page]) -> list[dict[str, str]]:
    return [{"path": p.path, "title": p.title} for p in pages]


def safe_next(path: str | None, pages: list[Page]) -> str:
    """Where to go after signing in: a registered page, never another site."""
    known = [p.path for p in pages]
    return path if path in known else (known[0] if known else "/")


def render(request: Request, state: ServiceState, template: str, context: dict[str, Any], *,
           status_code: int = 200, key: KeyInfo | None = None, active: str | None = None,
           page: Page | None = None, query: PageQuery | None = None) -> Response:
    common = {"nav": navigation(state.pages), "active": active, "key": key, "version": __version__,
              "shop": _shop_name(state), "page": page, "query": query or PageQuery()}
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
    query = PageQuery()
    try:
        query = PageQuery.parse(request.query_params)
        context, status_code = dict(page.context(open_warehouse(state), query)), 200
    except (ShoplensError, duckdb.IOException, duckdb.ConnectionException) as exc:
        # bad input (a date in the address) is the reader's to fix: 400; a busy or missing workspace: 503
        context, status_code = {"error": private(str(exc), state)}, 400 if isinstance(exc, InputError) else 503
    context.setdefault("title", page.title)
    return render(request, state, page.template, context, status_code=status_code, key=info, active=page.path,
                  page=page, query=query)


def open_warehouse(state: ServiceState) -> Warehouse:
    return Warehouse(Workspace.open(state.workspace_path), state.gate, state.settings.write_wait_s)


def private(message: str, state: ServiceState) -> str:
    """A message for the page, with the server's workspace path replaced by the workspace's name."""
    return one_line(message).replace(str(state.workspace_path), state.workspace_path.name)


def download_csv(page: Page, table: str, request: Request, state: ServiceState) -> Response:
    """One of the page's tables as CSV, for the query the page was shown with."""
    query = PageQuery.parse(request.query_params)
    tables = page.tables(open_warehouse(state), query) if page.tables else {}
    if table not in tables:
        raise NotFound(f"the page {page.path} has no table {table!r}; it has {', '.join(tables) or 'none'}")
    parts = [slug(_shop_name(state)), slug(page.title), slug(table)]
    name = "-".join(dict.fromkeys(parts)) + f"-{query.period.slug()}"  # dash-demo-segments-2024-03-01_2024-05-31
    return Response(tables[table].csv(), media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="{name}.csv"'})


def page_router(pages: list[Page]) -> APIRouter:
    """One ``GET`` route per registered page (not part of the OpenAPI schema: they answer HTML)."""
    router = APIRouter(include_in_schema=False)
    for page in pages:
        router.add_api_route(page.path, _endpoint(page), methods=["GET"], response_class=Response)
        if page.tables is not None:
            router.add_api_route(page.csv_path("{table}"), _csv_endpoint(page), methods=["GET"],
                                 response_class=Response, dependencies=[Depends(require_read)])
    return router


def _endpoint(page: Page):
    def endpoint(request: Request, key: str | None = Query(None, description="sign in with this API key once"),
                 state: ServiceState = Depends(get_state)) -> Response:
        return show_page(page, request, state, key)

    endpoint.__name__ = f"page_{page.path.strip('/').replace('/', '_') or 'home'}"
    return endpoint


def _csv_endpoint(page: Page):
    def endpoint(request: Request, table: str = PathParam(max_length=100),
                 state: ServiceState = Depends(get_state)) -> Response:
        return download_csv(page, table, request, state)

    endpoint.__name__ = f"csv_{page.path.strip('/').replace('/', '_') or 'home'}"
    return endpoint

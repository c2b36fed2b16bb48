"""Dependencies injected into the endpoints: the service state, the workspace, the warehouse and auth.

A request is authenticated by ``Authorization: Bearer <key>`` or ``X-API-Key: <key>``; a dashboard
session cookie also counts, for GET and HEAD only (so a cross-site form can never write). Missing or
invalid credentials → 401; a key whose role is too low → 403.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from fastapi import Depends, HTTPException, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer
from starlette.concurrency import run_in_threadpool

from shoplens.serve.answers import AnswerCache
from shoplens.serve.appender import EventAppender
from shoplens.serve.auth import KeyInfo, KeyStore, Role
from shoplens.serve.compute import Compute, ComputeLimits
from shoplens.serve.gate import WarehouseGate
from shoplens.serve.keeper import WarehouseKeeper
from shoplens.serve.registry import Page
from shoplens.serve.sessions import COOKIE_NAME, SessionStore
from shoplens.serve.settings import ServiceSettings
from shoplens.serve.warehouse import Warehouse
from shoplens.workspace import Workspace

SAFE_METHODS = frozenset({"GET", "HEAD"})
MAX_OFFSET = 10**12
# ?limit= and ?offset= of the paged endpoints (their value goes through page_limit)
Limit = Query(None, ge=1, le=ServiceSettings.max_rows,
              description=f"rows per page (default {ServiceSettings.default_rows}, at most {ServiceSettings.max_rows})")
Offset = Query(0, ge=0, le=MAX_OFFSET)

bearer_scheme = HTTPBearer(auto_error=False, description="Authorization: Bearer <API key>")
api_key_scheme = APIKeyHeader(name="X-API-Key", auto_error=False, description="X-API-Key: <API key>")


class WarmUp:
    """The start-up warm-up's progress (``serve.app``): the capability whose models load now, and whether every
    one has loaded (``/readyz?warm=true`` answers 503 until then)."""

    def __init__(self) -> None:
        self.loading: str | None = None
        self.done = threading.Event()


@dataclass
class ServiceState:
    """Everything one app instance holds; created by ``create_app``."""

    workspace_path: Path
    settings: ServiceSettings
    keys: KeyStore
    sessions: SessionStore
    compute: ComputeLimits
    gate: WarehouseGate = field(default_factory=WarehouseGate)
    appender: EventAppender = field(default_factory=EventAppender)  # live event batches, grouped
    pages: list[Page] = field(default_factory=list)
    warm_up: WarmUp = field(default_factory=WarmUp)
    _workspace: tuple[tuple[int, int, int], Workspace] | None = field(default=None, init=False, repr=False)

    def workspace(self) -> Workspace:
        """The workspace, opened once per version of its ``shoplens.toml``; ``WorkspaceError`` when it is missing."""
        try:
            stat = (self.workspace_path / "shoplens.toml").stat()
        except OSError:
            return Workspace.open(self.workspace_path)  # says what is wrong
        signature = (stat.st_ino, stat.st_mtime_ns, stat.st_size)
        opened = self._workspace
        if opened is None or opened[0] != signature:
            opened = self._workspace = (signature, Workspace.open(self.workspace_path))
        return opened[1]
    keeper: WarehouseKeeper | None = None  # the warehouse held open between requests (create_app)
    answers: AnswerCache = field(default_factory=AnswerCache)  # reads answered from memory (serve.answers)


# The dependencies below are coroutines: FastAPI runs a plain function dependency in a worker thread, and those
# hand-offs cost more CPU than a read answered from memory (each does no blocking work, or sends it to a thread).
async def get_state(request: Request) -> ServiceState:
    return request.app.state.shoplens


async def get_settings(state: ServiceState = Depends(get_state)) -> ServiceSettings:
    return state.settings


def page_limit(limit: int | None, settings: ServiceSettings) -> int:
    """Rows per page: ``limit`` when given, the default otherwise. The schema caps ``limit`` at the default
    ``max_rows``; a service configured with a lower cap refuses more the same way (422), never silently."""
    if limit is not None and limit > settings.max_rows:
        raise RequestValidationError([{"type": "less_than_equal", "loc": ("query", "limit"),
                                       "msg": f"Input should be less than or equal to {settings.max_rows}",
                                       "input": limit, "ctx": {"le": settings.max_rows}}])
    return min(limit or settings.default_rows, settings.max_rows)


async def single_query_values(request: Request) -> None:
    """Each query parameter at most once, as the schema says (no endpoint takes a list in the query): FastAPI
    would otherwise keep the last value of ``?limit=5&limit=5000`` without a word."""
    names = [name for name, _ in request.query_params.multi_items()]
    repeated = next((name for name in names if names.count(name) > 1), None)
    if repeated is not None:
        raise RequestValidationError([{"type": "repeated", "loc": ("query", repeated), "input": None,
                                       "msg": f"give {repeated} once (it is given {names.count(repeated)} times)"}])


async def get_workspace(state: ServiceState = Depends(get_state)) -> Workspace:
    """The workspace, opened again whenever its ``shoplens.toml`` changed (a stat per request); WorkspaceError →
    503 when it is missing."""
    return state.workspace()


async def get_warehouse(state: ServiceState = Depends(get_state), ws: Workspace = Depends(get_workspace)) -> Warehouse:
    return Warehouse(ws, state.gate, state.settings.write_wait_s, keeper=state.keeper, answers=state.answers)


def session_key(request: Request, state: ServiceState) -> KeyInfo | None:
    """The key behind the request's dashboard session cookie, while both are valid."""
    key_id = state.sessions.key_id(request.cookies.get(COOKIE_NAME))
    return state.keys.info(key_id) if key_id else None


def authenticate(request: Request, state: ServiceState, bearer: HTTPAuthorizationCredentials | None,
                 api_key: str | None) -> KeyInfo | None:
    presented = (bearer.credentials if bearer else None) or api_key
    if presented:
        return state.keys.verify(presented)
    if request.method in SAFE_METHODS:
        return session_key(request, state)
    return None


def require(role: Role) -> Callable[..., KeyInfo]:
    """A dependency that admits requests whose key has ``role`` or a higher one."""

    async def check(request: Request, state: ServiceState = Depends(get_state),
                    bearer: HTTPAuthorizationCredentials | None = Depends(bearer_scheme),
                    api_key: str | None = Depends(api_key_scheme)) -> KeyInfo:
        presented = (bearer.credentials if bearer else None) or api_key
        key = state.keys.remembered(presented) if presented else None
        if key is None:  # a key not verified yet costs a scrypt hash: in a worker thread, never on the event loop
            key = await run_in_threadpool(authenticate, request, state, bearer, api_key)
        if key is None:
            raise HTTPException(401, "a valid API key is required (Authorization: Bearer <key> or X-API-Key)",
                                headers={"WWW-Authenticate": "Bearer"})
        if key.role < role:
            raise HTTPException(403, f"key {key.id!r} has role {key.role.name}; this needs role {role.name}")
        return key

    return check


require_read = require(Role.read)
require_write = require(Role.write)
require_admin = require(Role.admin)


async def get_compute(state: ServiceState = Depends(get_state), key: KeyInfo = Depends(require_read)) -> Compute:
    """What compute endpoints run their work with (``require_read`` is the router's own check, answered once
    per request)."""
    return Compute(state.compute, key)

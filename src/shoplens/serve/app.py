"""The FastAPI app: ``create_app(workspace_path)`` and ``run_server(...)`` for ``shoplens serve``."""

from __future__ import annotations

import asyncio
import logging
import os
import re
import threading
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import uvicorn
from fastapi import Depends, FastAPI
from fastapi.staticfiles import StaticFiles
from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from shoplens import __version__
from shoplens.serve.auth import KeyStore
from shoplens.serve.compute import ComputeLimits
from shoplens.serve.deps import ServiceState, WarmUp, single_query_values
from shoplens.serve.errors import install_error_handlers
from shoplens.serve.keeper import WarehouseKeeper
from shoplens.serve.live import live_models
from shoplens.serve.pages import STATIC_DIR, page_router
from shoplens.serve.registry import Capability
from shoplens.serve.retrain_worker import start_operations
from shoplens.serve.routers import load_capabilities
from shoplens.serve.sessions import SessionStore
from shoplens.serve.settings import ServiceSettings
from shoplens.workspace import Workspace

WARM_UP_JOIN_S = 120  # the longest a shutdown waits for the start-up warm-up
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'none'; "
                               "form-action 'self'; frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
}
DESCRIPTION = ("REST API of a shoplens workspace. Send an API key as `Authorization: Bearer <key>` or "
               "`X-API-Key: <key>`; shop data needs role read, writes need role write.")


def create_app(workspace_path: str | os.PathLike, *, settings: ServiceSettings | None = None,
               capabilities: list[Capability] | None = None) -> FastAPI:
    """The service for one workspace (it may not exist yet: ``/readyz`` says so)."""
    settings = settings or ServiceSettings()
    capabilities = load_capabilities() if capabilities is None else capabilities
    path = Path(workspace_path).resolve()
    pages = sorted((p for c in capabilities for p in c.pages), key=lambda p: (p.order, p.title))
    app = FastAPI(title="shoplens", version=__version__, description=DESCRIPTION, docs_url=None, redoc_url=None,
                  dependencies=[Depends(single_query_values)],
                  lifespan=_warm_up(path, capabilities, settings.retrain_schedule, settings.model_check_s))
    app.state.shoplens = ServiceState(workspace_path=path, settings=settings, keys=KeyStore(path),
                                      sessions=SessionStore(settings.session_hours * 3600), pages=pages,
                                      compute=ComputeLimits(settings.compute_budget_s, settings.compute_workers),
                                      keeper=WarehouseKeeper(path))
    install_error_handlers(app, settings.retry_after_s)
    app.add_middleware(SecurityHeaders)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    for capability in capabilities:
        if capability.router is not None:
            app.include_router(capability.router)
    app.include_router(page_router(pages))
    return app


def _warm_up(path: Path, capabilities: list[Capability], retrain_schedule: str | None = None,
             model_check_s: float = 1.0) -> Callable[[FastAPI], Any]:
    """At start-up, deploys cut short are recovered and the retraining worker starts (``serve.retrain_worker``);
    each capability's ``warm`` runs in one background thread (requests are served meanwhile; ``/readyz?warm=true``
    answers 503 until it has finished, for a load balancer that should send traffic only then); the watcher of
    deployed models starts (hot reload, :mod:`shoplens.serve.live`). Both stop at shutdown."""
    warmers = [c for c in capabilities if c.warm is not None]

    def run(progress: WarmUp) -> None:
        try:
            for capability in warmers:
                progress.loading = capability.name
                try:
                    capability.warm(path)  # type: ignore[misc]
                except Exception as exc:  # a warm-up is an optimisation: the first request loads it instead
                    logging.getLogger(__name__).info("warm-up of %s skipped: %s", capability.name, exc)
        finally:
            progress.loading = None
            progress.done.set()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.retrain_worker = worker = start_operations(path, retrain_schedule)
        progress = app.state.shoplens.warm_up
        thread = threading.Thread(target=run, args=(progress,), name="shoplens-warm-up", daemon=True)
        if warmers:
            thread.start()
        else:
            progress.done.set()
        models = live_models(path, model_check_s)
        models.watch()
        try:
            yield
        finally:
            keeper = app.state.shoplens.keeper
            if keeper is not None:
                keeper.stop()
            await asyncio.to_thread(models.unwatch)
            if worker is not None:
                await asyncio.to_thread(worker.stop)
            if thread.is_alive():  # a shutdown during the warm-up: let it finish rather than exit inside native code
                await asyncio.to_thread(thread.join, WARM_UP_JOIN_S)

    return lifespan


class SecurityHeaders:
    """Adds :data:`SECURITY_HEADERS` (and ``Cache-Control: no-store`` outside ``/static/``) to every HTTP answer
    that does not set them itself. Plain ASGI: Starlette's ``BaseHTTPMiddleware`` runs each request through an
    extra task and memory stream, which cost more than a read answered from memory."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        extra = dict(SECURITY_HEADERS)
        if not scope["path"].startswith("/static/"):
            extra["Cache-Control"] = "no-store"

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in extra.items():
                    if name not in headers:
                        headers.append(name, value)
            await send(message)

        await self.app(scope, receive, send_with_headers)


class RedactKeys(logging.Filter):
    """Keeps ``?key=<API key>`` (the dashboard's one-click sign-in) out of the access log."""

    pattern = re.compile(r"([?&]key=)[^&\s]*")

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):
            record.args = tuple(self.pattern.sub(r"\1<redacted>", a) if isinstance(a, str) else a
                                for a in record.args)
        return True


def run_server(workspace_path: str | os.PathLike, host: str = "127.0.0.1", port: int = 8000, *,
               settings: ServiceSettings | None = None, log_level: str = "info", **uvicorn_options: Any) -> None:
    """Serve the workspace with uvicorn until interrupted (one process: sessions live in its memory).

    ``uvicorn_options`` go to ``uvicorn.Config`` (``ssl_certfile``, ``ssl_keyfile``, ``root_path`` …).
    """
    Workspace.open(workspace_path)  # a clear WorkspaceError now rather than 503s later
    app = create_app(workspace_path, settings=settings)
    config = uvicorn.Config(app, host=host, port=port, log_level=log_level, server_header=False, **uvicorn_options)
    logging.getLogger("uvicorn.access").addFilter(RedactKeys())
    uvicorn.Server(config).run()

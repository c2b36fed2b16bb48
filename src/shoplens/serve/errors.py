"""Errors → HTTP answers: 4xx with the one-line message for bad input, 429 or 503 (Retry-After) when busy."""

from __future__ import annotations

import duckdb
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from shoplens.errors import InputError, InvalidRecords, NotFound, ShoplensError, WorkspaceBusy, WorkspaceError
from shoplens.serve.compute import KeyBusy, OverBudget
from shoplens.serve.live import ModelUnavailable
from shoplens.serve.upload import UnsupportedMediaType, UploadTooLarge

STATUS: dict[type[Exception], int] = {
    KeyBusy: 429,
    OverBudget: 503,
    ModelUnavailable: 503,
    UploadTooLarge: 413,
    UnsupportedMediaType: 415,
    NotFound: 404,
    InputError: 400,
    WorkspaceBusy: 503,
    WorkspaceError: 503,
    ShoplensError: 400,
}


def one_line(message: str) -> str:
    return " ".join(str(message).split()) or "bad request"


def status_of(exc: Exception) -> int:
    for kind in type(exc).__mro__:
        if kind in STATUS:
            return STATUS[kind]
    return 500


def install_error_handlers(app: FastAPI, retry_after_s: int) -> None:
    def shoplens_error(_request: Request, exc: Exception) -> JSONResponse:
        status = status_of(exc)
        retry_after = getattr(exc, "retry_after_s", retry_after_s if isinstance(exc, WorkspaceBusy) else None)
        headers = {"Retry-After": str(retry_after)} if retry_after is not None else None
        body: dict[str, object] = {"detail": one_line(str(exc))}
        if isinstance(exc, InvalidRecords):  # every problem of a refused batch, by line and field
            body["errors"] = exc.problems
        return JSONResponse(body, status_code=status, headers=headers)

    def warehouse_locked(_request: Request, exc: Exception) -> JSONResponse:
        detail = f"the warehouse is in use by another process; try again shortly ({one_line(str(exc))})"
        return JSONResponse({"detail": detail}, status_code=503, headers={"Retry-After": str(retry_after_s)})

    app.add_exception_handler(ShoplensError, shoplens_error)
    for kind in (duckdb.IOException, duckdb.ConnectionException):
        app.add_exception_handler(kind, warehouse_locked)

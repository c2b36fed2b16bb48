"""The dashboard: sign-in and sign-out, and the overview page (tables, ingest runs, quarantine)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import Response

from shoplens.serve.deps import ServiceState, get_state
from shoplens.serve.pages import LOGIN_PATH, login_form, safe_next, sign_in, sign_out
from shoplens.serve.registry import Capability, Page, PageQuery
from shoplens.serve.warehouse import (
    Warehouse,
    ingest_runs,
    quarantine_overview,
    quarantine_reasons,
    table_overview,
)

LATEST_RUNS = 20
LIVE_MINUTES = 15  # the live tile: the last minutes' events (GET /api/v1/events/live), read again every 2 s
LIVE_POLL_MS = 2000
LIVE_KPIS = (("sessions", "sessions"), ("views", "views"), ("carts", "add to cart"), ("purchases", "purchases"),
             ("revenue", "revenue"))

router = APIRouter(include_in_schema=False)


@router.get(LOGIN_PATH, response_class=Response)
def show_login(request: Request, next_path: str | None = Query(None, alias="next", max_length=200),
               state: ServiceState = Depends(get_state)) -> Response:
    return login_form(request, state, safe_next(next_path, state.pages))


@router.post(LOGIN_PATH, response_class=Response)
def submit_login(request: Request, key: str = Form("", max_length=200),
                 next_path: str = Form("", alias="next", max_length=200),
                 state: ServiceState = Depends(get_state)) -> Response:
    return sign_in(request, state, key, safe_next(next_path, state.pages))


@router.post("/logout", response_class=Response)
def logout(request: Request, state: ServiceState = Depends(get_state)) -> Response:
    return sign_out(request, state)


def overview(warehouse: Warehouse, _query: PageQuery) -> dict[str, Any]:
    """Tables with row counts, the latest ingest runs and the quarantine with its most frequent reasons. The
    workspace is named, never located: a read key does not entitle anyone to the server's folders."""
    with warehouse.read() as con:
        tables = table_overview(con)
        runs = ingest_runs(con, limit=LATEST_RUNS)
        quarantine = quarantine_overview(warehouse.ws, con)
        reasons = quarantine_reasons(warehouse.ws, con)
    for entry in quarantine:
        entry["reasons"] = reasons.get(entry["table"], [])
    return {"tables": tables, "runs": runs, "quarantine": quarantine, "workspace": warehouse.ws.config.name,
            "live_minutes": LIVE_MINUTES, "live_poll_ms": LIVE_POLL_MS,
            "live_kpis": [(name, f"{label} ({warehouse.ws.config.currency})" if name == "revenue" else label)
                          for name, label in LIVE_KPIS]}


capability = Capability(
    name="dashboard",
    router=router,
    pages=(Page(path="/", title="Overview", template="overview.html", context=overview, order=0),),
)

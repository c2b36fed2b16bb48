"""Forecasts with intervals per product and the inventory plan: REST endpoints and the dashboard page.

Reads the tables ``forecast_daily`` and ``inventory_plan`` that ``shoplens forecast train`` and
``shoplens forecast inventory plan`` (or ``shoplens run``) write; nothing is computed per request.
"""

from __future__ import annotations

import datetime as dt
import math
from typing import Any

import duckdb
from fastapi import APIRouter, Depends, Path, Query
from fastapi.responses import Response
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from shoplens.errors import NotFound
from shoplens.forecast import store
from shoplens.serve.datatable import Column, DataTable, with_titles
from shoplens.serve.deps import get_warehouse, require_read
from shoplens.serve.models import error_responses
from shoplens.serve.registry import Capability, Page, PageQuery
from shoplens.serve.warehouse import Warehouse, jsonable
from shoplens.views import product_titles, sales_by_product
from shoplens.workspace import has_table

PAGE_SERIES = 6
PAGE_PLAN_ROWS = 25

router = APIRouter(tags=["forecast"], dependencies=[Depends(require_read)], responses=error_responses(401, 403, 503))


class SeriesInfo(BaseModel):
    unique_id: str
    periods: int
    total: float = Field(description="sum of the point forecast over the horizon")
    first: str
    last: str


class SeriesList(BaseModel):
    model_version: str | None
    created_at: str | None
    series: list[SeriesInfo]
    total: int
    limit: int
    offset: int


class Point(BaseModel):
    ds: str
    y: float | None
    y_lo_80: float | None = None
    y_hi_80: float | None = None
    y_lo_95: float | None = None
    y_hi_95: float | None = None


class Observed(BaseModel):
    ds: str
    y: float | None


class SeriesForecast(BaseModel):
    unique_id: str
    model_version: str | None
    history: list[Observed]
    forecast: list[Point]


class PlanPage(BaseModel):
    rows: list[dict[str, Any]]
    total: int
    limit: int
    offset: int


def _require(con: duckdb.DuckDBPyConnection, table: str, command: str) -> None:
    if not has_table(con, table):
        raise NotFound(f"no {table} yet; run `{command}` (or `shoplens run`)")


def _iso(value: Any) -> str:
    return value.date().isoformat() if isinstance(value, dt.datetime) else str(value)


def _number(value: Any) -> float | None:
    value = jsonable(value)
    return float(value) if isinstance(value, (int, float)) and math.isfinite(value) else None


@router.get("/api/v1/forecast", response_model=SeriesList, responses=error_responses(404),
            summary="Forecast series, largest first")
def list_series(limit: int = Query(100, ge=1, le=1000), offset: int = Query(0, ge=0, le=10**9),
                warehouse: Warehouse = Depends(get_warehouse)) -> SeriesList:
    with warehouse.read() as con:
        _require(con, store.FORECAST_TABLE, "shoplens forecast train")
        found = store.series_overview(con, limit, offset)
    series = [SeriesInfo(unique_id=str(u), periods=n, total=_number(s) or 0.0, first=_iso(a), last=_iso(b))
              for u, n, s, a, b in found["series"]]
    return SeriesList(model_version=found["model_version"], created_at=jsonable(found["created_at"]),
                      series=series, total=found["total"], limit=limit, offset=offset)


def series_forecast(con: duckdb.DuckDBPyConnection, unique_id: str, history_days: int, *,
                    kept: KeptSeries | None = None) -> SeriesForecast:
    """One series' forecast and recent history; ``kept``: every series' points and recent units, read already."""
    _require(con, store.FORECAST_TABLE, "shoplens forecast train")
    if kept is not None:
        (cols, points), recent = kept
        rows, units = points.get(unique_id, []), recent.get(unique_id, [])
    else:
        cols, rows = store.series_points(con, unique_id)
        units = store.recent_units(con, unique_id, history_days) if rows else []
    if not rows:
        raise NotFound(f"no forecast for {unique_id!r}")
    forecast = [Point(ds=_iso(r[0]), y=_number(r[1]), **{c: _number(v) for c, v in zip(cols, r[2:-1], strict=True)})
                for r in rows]
    observed = [Observed(ds=_iso(d), y=_number(u)) for d, u in units]
    return SeriesForecast(unique_id=unique_id, model_version=rows[0][-1], history=observed, forecast=forecast)


# every series' points and each product's last HISTORY_DAYS days: read once per generation of the warehouse
KeptSeries = tuple[tuple[list[str], dict[str, list[tuple[Any, ...]]]], dict[str, list[tuple[Any, Any]]]]
HISTORY_DAYS = 56  # the default history; other lengths are read per request


def _series_answer(warehouse: Warehouse, unique_id: str, history_days: int) -> Response:
    generation = warehouse.generation()

    def build(con: duckdb.DuckDBPyConnection) -> SeriesForecast:
        kept = None
        if warehouse.answers is not None and generation is not None and history_days == HISTORY_DAYS \
                and has_table(con, store.FORECAST_TABLE):
            kept = warehouse.answers.derived(generation, "forecast/series", lambda: (
                store.every_series_points(con), store.every_recent_units(con, HISTORY_DAYS)))
        return series_forecast(con, unique_id, history_days, kept=kept)

    return warehouse.answer(("forecast/series", unique_id, history_days), build, generation=generation)


@router.get("/api/v1/forecast/{unique_id}", response_model=SeriesForecast, responses=error_responses(404),
            summary="One series: recent history and the forecast with 80 % and 95 % intervals")
async def get_series(unique_id: str = Path(max_length=200),
               history_days: int = Query(HISTORY_DAYS, ge=0, le=3660, description="days of history to include"),
               warehouse: Warehouse = Depends(get_warehouse)) -> Response:
    kept = warehouse.kept(("forecast/series", unique_id, history_days))
    if kept is not None:
        return kept.response()
    return await run_in_threadpool(_series_answer, warehouse, unique_id, history_days)


@router.get("/api/v1/inventory/plan", response_model=PlanPage, responses=error_responses(404),
            summary="The inventory plan: products to order first")
def get_plan(limit: int = Query(100, ge=1, le=1000), offset: int = Query(0, ge=0, le=10**9),
             order_now: bool | None = Query(None, description="only products to order now (or not)"),
             warehouse: Warehouse = Depends(get_warehouse)) -> PlanPage:
    with warehouse.read() as con:
        return PlanPage.model_validate(plan_rows(con, limit, offset, order_now))


def plan_rows(con: duckdb.DuckDBPyConnection, limit: int, offset: int, order_now: bool | None = None
              ) -> dict[str, Any]:
    _require(con, store.PLAN_TABLE, "shoplens forecast inventory plan")
    page = store.plan_page(con, limit, offset, order_now)
    rows = [{c: jsonable(v) for c, v in zip(page["columns"], row, strict=True)} for row in page["rows"]]
    return {"rows": rows, "total": page["total"], "limit": limit, "offset": offset}


# -- dashboard ------------------------------------------------------------------------------------------------
CHART_W, CHART_H = 600, 220
LEFT, RIGHT, TOP, BOTTOM = 52, 16, 14, 40  # room for the y ticks and title, and the x ticks and title


def svg_chart(series: SeriesForecast) -> dict[str, Any]:
    """Coordinates of an inline SVG chart (history line, forecast line, 80 % and 95 % bands) with labelled axes:
    units per day (0, half, top) and dates (first, forecast start, last), placed by date. No script, so the
    page works under the service's Content-Security-Policy."""
    points = [(o.ds, o.y) for o in series.history] + [(p.ds, p.y) for p in series.forecast]
    highs = [p.y_hi_95 for p in series.forecast if p.y_hi_95 is not None]
    top = max([v for _, v in points if v is not None] + highs + [1e-9])
    days = [dt.date.fromisoformat(d[:10]) for d, _ in points] or [dt.date.today()]
    first, span = days[0], max((days[-1] - days[0]).days, 1)
    base_y = CHART_H - BOTTOM

    def x(day: str) -> float:
        return round(LEFT + (CHART_W - LEFT - RIGHT) * (dt.date.fromisoformat(day[:10]) - first).days / span, 1)

    def y(v: float | None) -> float:
        return round(base_y - (base_y - TOP) * (v or 0.0) / top, 1)

    def band(lo: str, hi: str) -> str:
        upper = [f"{x(p.ds)},{y(getattr(p, hi))}" for p in series.forecast]
        lower = [f"{x(p.ds)},{y(getattr(p, lo))}" for p in series.forecast]
        return " ".join(upper + lower[::-1])

    split = series.forecast[0].ds if series.forecast else points[-1][0] if points else first.isoformat()
    dates = list(dict.fromkeys(d[:10] for d in (points[0][0] if points else split, split,
                                                 points[-1][0] if points else split)))
    return {"width": CHART_W, "height": CHART_H, "left": LEFT, "right": CHART_W - RIGHT, "top": TOP,
            "base_y": base_y, "history": " ".join(f"{x(o.ds)},{y(o.y)}" for o in series.history),
            "forecast": " ".join(f"{x(p.ds)},{y(p.y)}" for p in series.forecast),
            "band80": band("y_lo_80", "y_hi_80"), "band95": band("y_lo_95", "y_hi_95"), "split_x": x(split),
            "y_ticks": [(y(v), _tick(v)) for v in (0.0, top / 2, top)], "x_ticks": [(x(d), d) for d in dates]}


def _tick(value: float) -> str:
    return f"{value:,.0f}" if value >= 10 or value == 0 else f"{value:,.1f}"


PAGE_HISTORY_DAYS = 56


def _history(con: duckdb.DuckDBPyConnection, unique_id: str, query: PageQuery) -> list[Observed]:
    """Units sold per day: in the query's period, else the last eight weeks."""
    rows = store.units_in_period(con, unique_id, query.period) if query.period.bounded \
        else store.recent_units(con, unique_id, PAGE_HISTORY_DAYS)
    return [Observed(ds=_iso(d), y=_number(u)) for d, u in rows]


def _chart(con: duckdb.DuckDBPyConnection, unique_id: str, query: PageQuery, titles: dict[str, str]
           ) -> dict[str, Any]:
    series = series_forecast(con, unique_id, 0).model_copy(update={"history": _history(con, unique_id, query)})
    return {"unique_id": unique_id, "title": titles.get(unique_id, unique_id), "periods": len(series.forecast),
            "total": sum(p.y or 0.0 for p in series.forecast), "history_days": len(series.history),
            "svg": svg_chart(series)}


def _plan_columns(query: PageQuery) -> tuple[Column, ...]:
    return (Column("unique_id", "product", "product"), Column("lead_time_days", "lead time (days)", "int"),
            Column("demand_per_day", "demand / day", "number"), Column("safety_stock", "safety stock", "number", 1),
            Column("reorder_point", "reorder point", "number", 1), Column("order_up_to", "order up to", "number", 1),
            Column("on_hand", "on hand", "number", 0),
            Column("units_sold", f"sold ({query.period.label()})", "number", 0),
            Column("order_now", "order now", "yes"), Column("order_qty", "quantity", "number", 0))


def _plan_table(con: duckdb.DuckDBPyConnection, query: PageQuery) -> DataTable | None:
    """The first rows of the reorder table (products to order now first), with titles and units sold."""
    if not has_table(con, store.PLAN_TABLE):
        return None
    rows = plan_rows(con, PAGE_PLAN_ROWS, 0)["rows"]
    ids = [r["unique_id"] for r in rows]
    sold = sales_by_product(con, ids, query.period)
    rows = [{**r, "units_sold": _number(sold.get(r["unique_id"], (0, 0))[0])} for r in rows]
    return DataTable("plan", _plan_columns(query), with_titles(rows, product_titles(con, ids), "unique_id"),
                     row_key="unique_id", row_attr="product")


def forecast_tables(warehouse: Warehouse, query: PageQuery) -> dict[str, DataTable]:
    with warehouse.read() as con:
        plan = _plan_table(con, query)
    return {} if plan is None else {"plan": plan}


def forecast_page(warehouse: Warehouse, query: PageQuery) -> dict[str, Any]:
    """The chosen product's forecast (``?product=``), else the best sellers', and the reorder table."""
    with warehouse.read() as con:
        if not has_table(con, store.FORECAST_TABLE):
            return {"charts": [], "plan": None, "message": "No forecast yet: run `shoplens forecast train` "
                                                          "(or `shoplens run`)."}
        ranked = store.ranked_series(con)
        titles = product_titles(con, ranked)
        chosen = query.get("product")
        notice = f"No forecast for product {chosen!r}; the best sellers are shown." \
            if chosen and chosen not in ranked else None
        shown = [chosen] if chosen in ranked else ranked[:PAGE_SERIES]
        charts = [_chart(con, uid, query, titles) for uid in shown]
        plan = _plan_table(con, query)
    products = [{"product_id": uid, "title": titles.get(uid, uid)} for uid in ranked]
    return {"charts": charts, "plan": plan, "message": None, "products": products,
            "chosen": chosen if chosen in ranked else "", "notice": notice}


capability = Capability(
    name="forecast",
    router=router,
    pages=(Page(path="/forecast", title="Forecast", template="forecast_page.html", context=forecast_page,
                order=50, tables=forecast_tables),),
    requires=("shoplens.forecast",),
)

"""Forecasts and inventory plans in the warehouse, the trained forecaster in the model registry, and
"demand at these prices" for pricing.

Tables written (replaced on each run):

- ``forecast_daily``: ``unique_id, ds, y, y_sd, y_lo_80, y_hi_80, y_lo_95, y_hi_95, level, model_version,
  created_at`` — the latest forecast per series and period;
- ``inventory_plan``: one row per product (see :func:`shoplens.forecast.inventory.inventory_plan`) plus
  ``model_version`` and ``created_at``.

The service reads them through the functions on an open connection at the end (pandas is imported where it is
used, so the service's router imports this module at no cost).
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any

from shoplens.errors import InputError, NotFound
from shoplens.workspace import column_names, has_table

if TYPE_CHECKING:
    import duckdb
    import pandas as pd

    from shoplens.forecast.forecaster import Forecaster
    from shoplens.period import Period
    from shoplens.workspace import Workspace

MODEL_NAME = "forecast"
FORECAST_TABLE = "forecast_daily"
PLAN_TABLE = "inventory_plan"


def save_model(ws: Workspace, forecaster: Forecaster, metrics: list[dict[str, Any]] | None = None) -> str:
    """Register a fitted forecaster (``models/forecast/<version>``); returns the version."""
    return forecaster.register(ws, metrics=metrics or []).version


def load_model(ws: Workspace, version: str = "deployed") -> Forecaster:
    """The registered forecaster (``deployed``, ``latest`` or a version)."""
    from shoplens.forecast.forecaster import Forecaster
    from shoplens.registry import ModelRegistry

    registry = ModelRegistry(ws)
    try:
        folder = registry.path(MODEL_NAME, version)
    except NotFound:
        raise NotFound(f"no trained forecaster in {ws.path}; run `shoplens forecast train` first") from None
    forecaster = Forecaster.load(folder)
    forecaster.version_ = folder.name
    return forecaster


def _tidy(frame: pd.DataFrame) -> pd.DataFrame:
    out = frame.rename(columns=lambda c: c.replace("-", "_"))
    return out


def write_forecast(ws: Workspace, forecast: pd.DataFrame, version: str, level: str = "product") -> int:
    """Replace ``forecast_daily`` with ``forecast``; returns the rows written."""
    frame = _tidy(forecast).assign(level=level, model_version=version,
                                   created_at=dt.datetime.now(dt.UTC).replace(tzinfo=None))
    _replace_table(ws, FORECAST_TABLE, frame)
    return len(frame)


def write_plan(ws: Workspace, plan: pd.DataFrame, version: str) -> int:
    """Replace ``inventory_plan`` with ``plan``; returns the rows written."""
    frame = _plan_frame(plan, version, dt.datetime.now(dt.UTC).replace(tzinfo=None))
    _replace_table(ws, PLAN_TABLE, frame)
    return len(frame)


def publish(ws: Workspace, forecast: pd.DataFrame, plan: pd.DataFrame, version: str, level: str = "product") -> None:
    """Replace ``forecast_daily`` and ``inventory_plan`` with a version's, in one transaction: a reader (or a
    process killed midway) sees both of the old version or both of the new."""
    created = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    frames = {FORECAST_TABLE: _tidy(forecast).assign(level=level, model_version=version, created_at=created),
              PLAN_TABLE: _plan_frame(plan, version, created)}
    with ws.connect(read_only=False, command=f"forecast: publishing {version}") as con:
        con.execute("BEGIN TRANSACTION")
        try:
            for name, frame in frames.items():
                con.register("frame_to_write", frame)
                con.execute(f'CREATE OR REPLACE TABLE "{name}" AS SELECT * FROM frame_to_write')
                con.unregister("frame_to_write")
            con.execute("COMMIT")
        except BaseException:
            con.execute("ROLLBACK")
            raise


def published_version(ws: Workspace) -> str | None:
    """The model version whose forecast the warehouse holds (None: no forecast stored)."""
    with ws.connect() as con:
        if not has_table(con, FORECAST_TABLE):
            return None
        row = con.execute(f"SELECT any_value(model_version) FROM {FORECAST_TABLE}").fetchone()
    return row[0] if row else None


def _plan_frame(plan: pd.DataFrame, version: str, created: dt.datetime) -> pd.DataFrame:
    import pandas as pd

    frame = plan.assign(model_version=version, created_at=created)
    for column in ("eoq", "newsvendor_qty"):
        if column in frame:
            frame[column] = pd.to_numeric(frame[column], errors="coerce")
    return frame


def _replace_table(ws: Workspace, name: str, frame: pd.DataFrame) -> None:
    with ws.connect(read_only=False, command=f"forecast: writing {name}") as con:
        con.register("frame_to_write", frame)
        con.execute(f'CREATE OR REPLACE TABLE "{name}" AS SELECT * FROM frame_to_write')
        con.unregister("frame_to_write")


def read_forecast(ws: Workspace, products: list[str] | None = None) -> pd.DataFrame:
    """The stored forecast (all series, or some)."""
    _require(ws, FORECAST_TABLE, "shoplens forecast train")
    where, params = "", []
    if products:
        where = f"WHERE unique_id IN ({', '.join('?' for _ in products)})"
        params = list(products)
    return ws.sql(f"SELECT * FROM {FORECAST_TABLE} {where} ORDER BY unique_id, ds", params)


def read_plan(ws: Workspace) -> pd.DataFrame:
    """The stored inventory plan, products to reorder first."""
    _require(ws, PLAN_TABLE, "shoplens forecast inventory plan")
    return ws.sql(f"SELECT * FROM {PLAN_TABLE} ORDER BY {_plan_order(ws.columns(PLAN_TABLE))}")


def _plan_order(columns: list[str]) -> str:
    """Products to order now first (when the plan says which), then by product."""
    return "order_now DESC, unique_id" if "order_now" in columns else "unique_id"


def _require(ws: Workspace, table: str, command: str) -> None:
    if table not in ws.table_names():
        raise NotFound(f"no {table} in {ws.path} yet; run `{command}` first")


def latest_stock(ws: Workspace) -> pd.DataFrame:
    """Latest ``inventory`` snapshot per product: ``unique_id, on_hand, on_order, lead_time_days``."""
    return ws.sql("SELECT product_id AS unique_id, arg_max(on_hand, ts) AS on_hand, arg_max(on_order, ts) AS on_order, "
                  "arg_max(lead_time_days, ts) AS lead_time_days FROM inventory GROUP BY product_id")


def demand_at_prices(ws: Workspace, prices: pd.DataFrame, horizon: int = 28,
                     forecaster: Forecaster | None = None) -> pd.DataFrame:
    """Forecast daily demand of some products if they were sold at the given prices.

    ``prices``: ``product_id`` (or ``unique_id``), ``price`` and optionally ``ds`` (a price per day; without
    it the price holds for the whole horizon) and ``promo``. Uses the deployed forecaster (or ``forecaster``).
    Returns ``unique_id, ds, price, y_base, y`` where ``y_base`` is the forecast at the current price and
    ``y`` the forecast at the given price: the base forecast times the ratio of the global LightGBM model's
    forecasts at the two prices (the only base model that reads prices; it is constrained so that a higher
    price never raises demand). For pricing (issue 7): a what-if of demand; the elasticity itself, with
    controls for seasons and promotions, is the pricing capability's to estimate.
    """
    import pandas as pd

    fc = forecaster or load_model(ws)
    frame = prices.rename(columns={"product_id": "unique_id"}).copy()
    if "unique_id" not in frame or "price" not in frame:
        raise InputError("prices: need columns product_id (or unique_id) and price")
    if "LightGBM" not in fc.settings_.models:
        raise InputError("the forecaster has no LightGBM model, the only one that reads prices; train it with "
                         "LightGBM among its models")
    frame["unique_id"] = frame["unique_id"].astype(str)
    if "ds" in frame:
        frame["ds"] = pd.to_datetime(frame["ds"], errors="coerce")
    base = fc.predict(horizon, models=True)
    if "ds" not in frame:
        days = base[["ds"]].drop_duplicates()
        frame = frame.merge(days, how="cross")
    unknown = sorted(set(frame["unique_id"]) - set(base["unique_id"]))
    if unknown:
        raise InputError(f"prices: no forecast for product(s) {', '.join(unknown[:5])}")
    what_if = fc.predict(horizon, prices=frame, models=True)
    merged = base[["unique_id", "ds", "y", "LightGBM"]].merge(
        what_if[["unique_id", "ds", "LightGBM"]], on=["unique_id", "ds"], suffixes=("_base", "_new"))
    merged = merged[merged["unique_id"].isin(frame["unique_id"])]
    # a floor of a tenth of the series' mean keeps near-zero days from turning tiny differences into big ratios
    floor = 0.1 * merged.groupby("unique_id")["LightGBM_base"].transform("mean") + 1e-9
    ratio = (merged["LightGBM_new"] + floor) / (merged["LightGBM_base"] + floor)
    out = merged[["unique_id", "ds"]].merge(frame[["unique_id", "ds", "price"]], on=["unique_id", "ds"], how="left")
    out["y_base"] = merged["y"].to_numpy()
    out["y"] = (merged["y"] * ratio.clip(lower=0)).to_numpy()
    return out.reset_index(drop=True)


# -- reads on an open connection: the service and its dashboard -----------------------------------------------
INTERVAL_COLUMNS = ("y_lo_80", "y_hi_80", "y_lo_95", "y_hi_95")


def series_overview(con: duckdb.DuckDBPyConnection, limit: int, offset: int) -> dict[str, Any]:
    """One page of the forecast's series, largest total first — ``series``: (unique_id, periods, total, first
    day, last day) — with the number of series and the forecast's ``model_version`` and ``created_at``."""
    series = con.execute(f"SELECT unique_id, count(*), sum(y), min(ds), max(ds) FROM {FORECAST_TABLE} "
                         "GROUP BY unique_id ORDER BY sum(y) DESC, unique_id LIMIT ? OFFSET ?",
                         [limit, offset]).fetchall()
    total = con.execute(f"SELECT count(DISTINCT unique_id) FROM {FORECAST_TABLE}").fetchone()[0]
    version, created_at = con.execute(
        f"SELECT any_value(model_version), max(created_at) FROM {FORECAST_TABLE}").fetchone()
    return {"series": series, "total": total, "model_version": version, "created_at": created_at}


def ranked_series(con: duckdb.DuckDBPyConnection) -> list[str]:
    """Every series of the forecast, largest total first."""
    rows = con.execute(f"SELECT unique_id FROM {FORECAST_TABLE} GROUP BY unique_id "
                       "ORDER BY sum(y) DESC, unique_id").fetchall()
    return [r[0] for r in rows]


def series_points(con: duckdb.DuckDBPyConnection, unique_id: str) -> tuple[list[str], list[tuple[Any, ...]]]:
    """The interval columns the forecast holds (of :data:`INTERVAL_COLUMNS`) and one series' rows, by date:
    (ds, y, *intervals, model_version); no rows for an unknown series."""
    present = set(column_names(con, FORECAST_TABLE))
    intervals = [c for c in INTERVAL_COLUMNS if c in present]
    rows = con.execute(f"SELECT ds, y, {', '.join(intervals) or 'NULL'}, model_version FROM {FORECAST_TABLE} "
                       "WHERE unique_id = ? ORDER BY ds", [unique_id]).fetchall()
    return intervals, rows


def recent_units(con: duckdb.DuckDBPyConnection, product_id: str, days: int) -> list[tuple[dt.date, Any]]:
    """(day, units) of the product's last ``days`` days in ``daily_sales``, oldest first."""
    rows = con.execute("SELECT day, units FROM daily_sales WHERE product_id = ? ORDER BY day DESC LIMIT ?",
                       [product_id, days]).fetchall()
    return rows[::-1]


def every_series_points(con: duckdb.DuckDBPyConnection) -> tuple[list[str], dict[str, list[tuple[Any, ...]]]]:
    """:func:`series_points` of every series at once (one query; the service keeps it while the warehouse is
    unchanged): the interval columns and each series' rows by date."""
    present = set(column_names(con, FORECAST_TABLE))
    intervals = [c for c in INTERVAL_COLUMNS if c in present]
    rows = con.execute(f"SELECT unique_id, ds, y, {', '.join(intervals) or 'NULL'}, model_version "
                       f"FROM {FORECAST_TABLE} ORDER BY unique_id, ds").fetchall()
    points: dict[str, list[tuple[Any, ...]]] = {}
    for unique_id, *row in rows:
        points.setdefault(unique_id, []).append(tuple(row))
    return intervals, points


def every_recent_units(con: duckdb.DuckDBPyConnection, days: int) -> dict[str, list[tuple[dt.date, Any]]]:
    """:func:`recent_units` of every product at once (one pass over ``daily_sales`` instead of one per product)."""
    rows = con.execute("SELECT product_id, day, units FROM (SELECT product_id, day, units, row_number() OVER "
                       "(PARTITION BY product_id ORDER BY day DESC) AS recent FROM daily_sales) WHERE recent <= ? "
                       "ORDER BY product_id, day", [days]).fetchall()
    units: dict[str, list[tuple[dt.date, Any]]] = {}
    for product_id, day, count in rows:
        units.setdefault(product_id, []).append((day, count))
    return units


def units_in_period(con: duckdb.DuckDBPyConnection, product_id: str, period: Period) -> list[tuple[dt.date, Any]]:
    """(day, units) of the product on the days of ``period`` in ``daily_sales``, oldest first."""
    where, params = period.days("day")
    return con.execute(f"SELECT day, units FROM daily_sales WHERE product_id = ? AND {where} ORDER BY day",
                       [product_id, *params]).fetchall()


def plan_page(con: duckdb.DuckDBPyConnection, limit: int, offset: int, order_now: bool | None = None
              ) -> dict[str, Any]:
    """One page of the inventory plan, products to order now first (only those to order now, or only the others,
    when ``order_now`` is given and the plan says): its ``columns``, ``rows`` and the ``total`` rows matching."""
    columns = column_names(con, PLAN_TABLE)
    where = "WHERE order_now = ?" if "order_now" in columns and order_now is not None else ""
    params: list[Any] = [order_now] if where else []
    rows = con.execute(f"SELECT * FROM {PLAN_TABLE} {where} ORDER BY {_plan_order(columns)} LIMIT ? OFFSET ?",
                       [*params, limit, offset]).fetchall()
    total = con.execute(f"SELECT count(*) FROM {PLAN_TABLE} {where}", params).fetchone()[0]
    return {"columns": columns, "rows": rows, "total": total}

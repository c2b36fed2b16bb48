"""Inputs of the optimiser from the rest of the workspace.

- Stock available: from the forecast/inventory module's stored plan when it has one (issue 6:
  ``shoplens.forecast.read_plan``), otherwise from the latest ``inventory`` snapshot (on hand + on order),
  otherwise none. The optimiser takes it as ``stock=`` (product_id, available).
- Expected demand at current prices: the same plan's forecast demand per day, when present; the optimiser
  takes it as ``demand=`` (product_id, units_per_day) instead of the last year's average.

Users may pass their own frames.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pandas as pd

from shoplens._imports import import_if_present
from shoplens.errors import ShoplensError

if TYPE_CHECKING:
    from shoplens.workspace import Workspace

LATEST_STOCK_SQL = """
SELECT product_id, CAST(coalesce(on_hand, 0) + coalesce(on_order, 0) AS DOUBLE) AS available
FROM (SELECT *, row_number() OVER (PARTITION BY product_id ORDER BY ts DESC) AS latest FROM inventory)
WHERE latest = 1 AND product_id IS NOT NULL
ORDER BY product_id
"""
# Columns of an inventory plan that say how many units can be sold, in order of preference.
PLAN_COLUMNS = ("available", "available_units", "on_hand_plus_on_order", "inventory_position", "on_hand")


def available_stock(ws: Workspace) -> pd.DataFrame | None:
    """product_id, available, source — or None when the workspace knows nothing about stock."""
    planned = _from_forecast_plan(ws)
    if planned is not None:
        return planned
    if "inventory" not in ws.table_names():
        return None
    snapshot = ws.sql(LATEST_STOCK_SQL)
    if snapshot.empty:
        return None
    return snapshot.assign(source="inventory snapshot (on hand + on order)")


def forecast_demand(ws: Workspace) -> pd.DataFrame | None:
    """product_id, units_per_day from the forecast module's stored plan (its ``demand_per_day``), or None."""
    plan = _stored_plan(ws)
    if plan is None or "demand_per_day" not in plan.columns:
        return None
    key = "product_id" if "product_id" in plan.columns else "unique_id"
    frame = plan[[key, "demand_per_day"]].rename(columns={key: "product_id", "demand_per_day": "units_per_day"})
    frame["units_per_day"] = pd.to_numeric(frame["units_per_day"], errors="coerce")
    return frame.dropna()


def _stored_plan(ws: Workspace) -> pd.DataFrame | None:
    """The inventory plan of shoplens.forecast (issue 6), when that module is installed and has stored one."""
    forecast = import_if_present("shoplens.forecast")
    try:  # the package may announce read_plan before its module exists
        read_plan = getattr(forecast, "read_plan", None) if forecast is not None else None
    except ImportError:
        return None
    if read_plan is None:
        return None
    try:
        plan = read_plan(ws)
    except (ShoplensError, FileNotFoundError, TypeError, KeyError, AttributeError):
        return None
    if not isinstance(plan, pd.DataFrame) or plan.empty:
        return None
    if "product_id" not in plan.columns and "unique_id" not in plan.columns:
        return None
    return plan


def _from_forecast_plan(ws: Workspace) -> pd.DataFrame | None:
    plan = _stored_plan(ws)
    if plan is None:
        return None
    key = "product_id" if "product_id" in plan.columns else "unique_id" if "unique_id" in plan.columns else None
    column = next((c for c in PLAN_COLUMNS if c in plan.columns), None)
    if key is None or column is None:
        return None
    frame = plan[[key, column]].rename(columns={key: "product_id", column: "available"})
    frame["available"] = pd.to_numeric(frame["available"], errors="coerce").clip(lower=0)
    frame = frame.dropna().groupby("product_id", as_index=False)["available"].sum()
    return frame.assign(source=f"forecast inventory plan ({column})")

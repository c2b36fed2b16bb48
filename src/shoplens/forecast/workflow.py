"""What the CLI, the pipeline steps and the service share: train and store a forecaster, backtest it,
and plan inventory from the stored one."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import pandas as pd

from shoplens.errors import InputError
from shoplens.forecast.store import latest_stock, load_model, save_model, write_forecast, write_plan

if TYPE_CHECKING:
    from shoplens.forecast.forecaster import BacktestResult, Forecaster
    from shoplens.workspace import Workspace

# The forecaster that inventory planning uses: means (sums of demand), corrected for bias and promotions,
# and an error model measured on 4-week windows a week apart (protection periods are up to 4 weeks long).
PLANNING: dict[str, Any] = {"point": "mean", "adjust": True, "cv_horizon": 28, "cv_step": 7, "cv_windows": 4,
                            "horizon": 35}
# ``shoplens demo``: three fast models and two windows (about 20 s for 200 products on 2 cores).
DEMO: dict[str, Any] = {**PLANNING, "models": ["AutoCES", "SeasonalProfile", "LightGBM"], "cv_windows": 2}
DEFAULT_LEAD_TIME = 7


def forecaster_params(profile: str = "full", **overrides: Any) -> dict[str, Any]:
    base = DEMO if profile == "demo" else PLANNING
    return {**base, **{k: v for k, v in overrides.items() if v is not None}}


def train(ws: Workspace, profile: str = "full", progress: bool = False, **params: Any) -> dict[str, Any]:
    """Fit a forecaster on the workspace, register it and store its forecast; a summary."""
    from shoplens.forecast.forecaster import Forecaster

    forecaster = Forecaster(**forecaster_params(profile, **params), progress=progress).fit(ws)
    version = save_model(ws, forecaster)
    forecaster.version_ = version
    rows = write_forecast(ws, forecaster.predict(), version, forecaster.level)
    card = forecaster.card_params()
    return {"version": version, "series": card["series"], "origin": card["origin"], "horizon": forecaster.horizon,
            "rows": rows, "models": card["retained"], "inner_mase": card["inner_mase"]}


def backtest(ws: Workspace, h: int = 7, n_windows: int = 4, step_size: int | None = None, profile: str = "full",
             progress: bool = False, **params: Any) -> BacktestResult:
    """Rolling-origin backtest of the pipeline on the workspace, SeasonalNaive beside it."""
    from shoplens.forecast.forecaster import Forecaster

    # inner windows as long as the evaluation windows, so both share their base forecasts
    chosen = {**forecaster_params(profile), "cv_horizon": h, "cv_step": None}
    chosen.update({k: v for k, v in params.items() if v is not None})
    return Forecaster(**chosen, progress=progress).backtest(ws, h=h, n_windows=n_windows, step_size=step_size)


def lead_times(ws: Workspace, default: int = DEFAULT_LEAD_TIME) -> dict[str, int]:
    from shoplens.forecast.replay import workspace_lead_times

    return workspace_lead_times(ws, default)


@dataclass
class PlanInputs:
    """What an inventory plan reads beside the forecast, per product: lead times, stock, unit costs and prices;
    and the forecast horizon the plan needs (the longest lead time plus the review period, at least the
    forecaster's own horizon)."""

    lead_times: dict[str, int]
    review_days: int
    horizon: int
    stock: pd.DataFrame | None
    unit_cost: dict[str, float]
    unit_price: dict[str, float]


def plan_inputs(ws: Workspace, fc: Forecaster, lead_time_days: int | None = None, review_days: int = 7) -> PlanInputs:
    """The plan's inputs from the workspace: lead times and stock from the ``inventory`` table where it has them
    (``lead_time_days`` overrides them all), costs and prices from ``products``."""
    from shoplens.forecast.replay import workspace_costs

    if fc.freq != "D" or fc.series_.level != "product":
        raise InputError("inventory plans need a daily product-level forecaster (level='product', freq='D')")
    ids = fc.series_.ids  # computed from the whole history on each access: once here
    known = set(ids)
    leads = {uid: lead_time_days for uid in ids} if lead_time_days is not None else \
        {uid: lead for uid, lead in lead_times(ws).items() if uid in known}
    leads = {uid: leads.get(uid, DEFAULT_LEAD_TIME) for uid in ids}
    stock = latest_stock(ws)
    prices = ws.sql("SELECT product_id, CAST(price AS DOUBLE) AS price FROM products WHERE price IS NOT NULL")
    return PlanInputs(lead_times=leads, review_days=review_days,
                      horizon=max(max(leads.values()) + review_days, fc.horizon), stock=stock if len(stock) else None,
                      unit_cost=workspace_costs(ws),
                      unit_price=dict(zip(prices["product_id"].astype(str), prices["price"], strict=True)))


def plan(ws: Workspace, service_level: float = 0.95, lead_time_days: int | None = None, review_days: int = 7,
         fill_rate: float | None = None, ordering_cost: float | None = None, holding_rate: float = 0.25,
         version: str = "deployed", forecaster: Forecaster | None = None) -> pd.DataFrame:
    """The inventory plan from the stored forecaster, with stock and lead times from the ``inventory``
    table where it has them (``lead_time_days`` overrides them all); stored as ``inventory_plan``."""
    fc = forecaster or load_model(ws, version)
    result = compute_plan(ws, fc, service_level, lead_time_days, review_days, fill_rate, ordering_cost, holding_rate)
    write_plan(ws, result, getattr(fc, "version_", version))
    return result


def compute_plan(ws: Workspace, fc: Forecaster, service_level: float = 0.95, lead_time_days: int | None = None,
                 review_days: int = 7, fill_rate: float | None = None, ordering_cost: float | None = None,
                 holding_rate: float = 0.25) -> pd.DataFrame:
    """The inventory plan of a forecaster (as :func:`plan`), not stored."""
    from shoplens.forecast.inventory import inventory_plan

    inputs = plan_inputs(ws, fc, lead_time_days, review_days)
    forecast = fc.predict(inputs.horizon)
    return inventory_plan(forecast, service_level, inputs.lead_times, review_days=review_days, fill_rate=fill_rate,
                          ordering_cost=ordering_cost, holding_rate=holding_rate, unit_cost=inputs.unit_cost,
                          unit_price=inputs.unit_price, stock=inputs.stock)

"""Pipeline steps of the forecast capability: train the forecaster, backtest it, plan inventory, deploy."""

from __future__ import annotations

from typing import Any

from shoplens.errors import ShoplensError
from shoplens.pipeline import NotApplicable, RunContext, step


def _require_forecast_extra() -> None:
    import importlib.util

    missing = [m for m in ("statsforecast", "mlforecast", "lightgbm") if importlib.util.find_spec(m) is None]
    if missing:
        raise ShoplensError(f"forecasting needs {', '.join(missing)}: install shoplens[forecast]")


def _has_sales(ctx: RunContext) -> bool:
    return int(ctx.ws.sql("SELECT count(*) AS n FROM daily_sales")["n"].iloc[0]) > 0


@step("forecast", "train", "fit forecaster")
def fit_forecaster(ctx: RunContext) -> dict[str, Any]:
    _require_forecast_extra()
    if not _has_sales(ctx):
        raise NotApplicable("no sales to forecast: daily_sales is empty (ingest orders and order_items)")
    from shoplens.forecast.forecaster import InsufficientHistory
    from shoplens.forecast.workflow import train

    try:
        summary = train(ctx.ws, ctx.profile)
    except InsufficientHistory as error:
        raise NotApplicable(str(error)) from None
    return {k: summary[k] for k in ("version", "series", "origin", "horizon", "models")}


@step("forecast", "evaluate", "backtest")
def backtest_forecaster(ctx: RunContext) -> dict[str, Any]:
    _require_forecast_extra()
    from shoplens.forecast.forecaster import OURS
    from shoplens.forecast.models import BASELINE
    from shoplens.forecast.workflow import backtest

    windows = 2 if ctx.profile == "demo" else 4
    result = backtest(ctx.ws, h=7, n_windows=windows, profile=ctx.profile)
    _store_backtest(ctx, result)
    return {"windows": windows, "h": 7, "mase": round(result.metric(OURS, "mase"), 4),
            "mase_seasonal_naive": round(result.metric(BASELINE, "mase"), 4),
            "coverage_80": round(result.metric(OURS, "coverage_80"), 3)}


def _store_backtest(ctx: RunContext, result: Any) -> None:
    """The backtest's summary next to the model (for the report and the dashboard)."""
    import json

    from shoplens.forecast.store import MODEL_NAME
    from shoplens.registry import ModelRegistry

    folder = ModelRegistry(ctx.ws).path(MODEL_NAME, "latest")
    (folder / "backtest.json").write_text(json.dumps(result.to_dict(), indent=2, default=str), encoding="utf-8")


@step("forecast", "deploy", "deploy forecaster and plan inventory")
def deploy_and_plan(ctx: RunContext) -> dict[str, Any]:
    from shoplens.forecast.store import MODEL_NAME
    from shoplens.forecast.workflow import plan
    from shoplens.registry import ModelRegistry

    card = ModelRegistry(ctx.ws).deploy(MODEL_NAME)
    result = plan(ctx.ws)
    return {"version": card.version, "products_planned": len(result),
            "order_now": int(result["order_now"].sum()) if "order_now" in result else None}

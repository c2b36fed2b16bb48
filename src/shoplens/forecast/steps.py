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


@step("forecast", "deploy", "forecasts and plans on spark", engine="spark")
def forecast_on_spark(ctx: RunContext) -> dict[str, Any]:
    """Every series' forecast and inventory plan from the deployed forecaster, on Spark (``shoplens run --engine
    spark``): ``forecast_daily`` and ``inventory_plan`` as the local run stores them."""
    _require_forecast_extra()
    import datetime as dt

    from pyspark.sql import functions as F

    from shoplens.engine.spark_run import spark_run
    from shoplens.errors import InputError, NotFound
    from shoplens.forecast.spark import STOCK_COLUMNS, forecast_all, plan_all
    from shoplens.forecast.store import FORECAST_TABLE, PLAN_TABLE, load_model
    from shoplens.forecast.workflow import plan_inputs

    try:
        fc = load_model(ctx.ws)
    except NotFound as missing:
        raise NotApplicable(str(missing)) from None
    run = spark_run(ctx)
    try:
        inputs = plan_inputs(ctx.ws, fc)
    except InputError as why:  # not a daily product forecaster: forecasts without plans
        ctx.note(f"no inventory plan: {why}")
        inputs = None
    horizon = inputs.horizon if inputs is not None else fc.horizon
    ctx.note(f"forecasts of {len(fc.series_.ids):,} series over {horizon} periods with forecaster {fc.version_}")
    forecast = forecast_all(run.spark, fc, horizon).persist()
    created = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    stamp = [F.lit(fc.version_).alias("model_version"), F.lit(created).cast("timestamp").alias("created_at")]
    daily = forecast.filter(F.col("ds") <= F.lit(fc.last_period(fc.horizon)).cast("timestamp"))
    summary: dict[str, Any] = {"version": fc.version_, "series": len(fc.series_.ids)}
    summary[FORECAST_TABLE] = run.save(FORECAST_TABLE, daily.select("*", F.lit(fc.level).alias("level"), *stamp),
                                       ["unique_id", "ds"])
    if inputs is not None:
        plan = plan_all(run.spark, forecast, fc, inputs)
        if inputs.stock is None:
            plan = plan.drop(*STOCK_COLUMNS)
        summary[PLAN_TABLE] = run.save(PLAN_TABLE, plan.select("*", *stamp), ["unique_id"])
    forecast.unpersist()
    summary["parquet"] = str(run.results)
    return summary

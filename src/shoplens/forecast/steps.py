"""Pipeline steps of the forecast capability: train the forecaster, backtest it, plan inventory, deploy."""

from __future__ import annotations

from typing import Any

from shoplens.errors import ShoplensError
from shoplens.pipeline import NotApplicable, RunContext, step

# daily_sales (orders, lines, the catalog's list prices) and the stock counts the plan reads
READS = ("products", "orders", "order_items", "inventory")
# The fast (demo) profile on a shop selling more products than this leaves AutoCES out (it was 63 % of the fit's
# CPU on the mid-size shop, where it was not retained: inner MASE 2.19 against SeasonalNaive's 2.07) and backtests
# a random sample of FAST_BACKTEST_SERIES products.
FAST_MAX_SERIES = 500
FAST_MODELS = ["SeasonalProfile", "LightGBM"]
FAST_BACKTEST_SERIES = 400


def _require_forecast_extra() -> None:
    import importlib.util

    missing = [m for m in ("statsforecast", "mlforecast", "lightgbm") if importlib.util.find_spec(m) is None]
    if missing:
        raise ShoplensError(f"forecasting needs {', '.join(missing)}: install shoplens[forecast]")


def _has_sales(ctx: RunContext) -> bool:
    return int(ctx.ws.sql("SELECT count(*) AS n FROM daily_sales")["n"].iloc[0]) > 0


@step("forecast", "train", "fit forecaster", reads=READS)
def fit_forecaster(ctx: RunContext) -> dict[str, Any]:
    _require_forecast_extra()
    if not _has_sales(ctx):
        raise NotApplicable("no sales to forecast: daily_sales is empty (ingest orders and order_items)")
    from shoplens.forecast.forecaster import InsufficientHistory
    from shoplens.forecast.store import MODEL_NAME
    from shoplens.forecast.workflow import train

    kept = ctx.kept_version(MODEL_NAME, "forecast.version")
    if kept is not None:
        ctx.outputs["forecast.kept"] = True
        ctx.reuse(f"deployed forecaster {kept} kept (no refit, no reselection): the sales grew within the "
                  f"{ctx.reuse_limit:.0%} a model is kept for; the inventory plan is recomputed from today's stock")
        return {"version": kept, "kept": True}
    try:
        summary = train(ctx.ws, ctx.profile, **_fast_models(ctx))
    except InsufficientHistory as error:
        raise NotApplicable(str(error)) from None
    ctx.outputs["forecast.version"] = summary["version"]
    return {k: summary[k] for k in ("version", "series", "origin", "horizon", "models")}


@step("forecast", "evaluate", "backtest", reads=READS)
def backtest_forecaster(ctx: RunContext) -> dict[str, Any]:
    _require_forecast_extra()
    from shoplens.forecast.forecaster import OURS
    from shoplens.forecast.models import BASELINE
    from shoplens.forecast.workflow import backtest

    if ctx.outputs.get("forecast.kept"):
        ctx.reuse("not backtested again: the kept forecaster's backtest stays beside it (backtest.json)")
        return {"kept": ctx.outputs["forecast.version"]}
    windows = 2 if ctx.profile == "demo" else 4
    params = _fast_models(ctx)
    if params:
        params["products"] = _sample_products(ctx, FAST_BACKTEST_SERIES)
        ctx.limit(f"fast profile: backtested on a random {FAST_BACKTEST_SERIES:,} of the products sold")
    result = backtest(ctx.ws, h=7, n_windows=windows, profile=ctx.profile, **params)
    _store_backtest(ctx, result)
    return {"windows": windows, "h": 7, "series": len(params.get("products") or []) or "all",
            "mase": round(result.metric(OURS, "mase"), 4),
            "mase_seasonal_naive": round(result.metric(BASELINE, "mase"), 4),
            "coverage_80": round(result.metric(OURS, "coverage_80"), 3)}


def _products_sold(ctx: RunContext) -> int:
    return int(ctx.ws.sql("SELECT count(DISTINCT product_id) AS n FROM order_items")["n"].iloc[0])


def _fast_models(ctx: RunContext) -> dict[str, Any]:
    """The fast profile's models on a shop with many products (said so in the run's notes), else nothing."""
    if ctx.profile != "demo" or _products_sold(ctx) <= FAST_MAX_SERIES:
        return {}
    ctx.limit(f"fast profile ({_products_sold(ctx):,} products sold): AutoCES left out of the ensemble "
              f"({' + '.join(FAST_MODELS)}, and the intermittent-demand models)")
    return {"models": list(FAST_MODELS)}


def _sample_products(ctx: RunContext, n: int) -> list[str]:
    """A random sample of ``n`` products sold, the same on every run of the same data (a hash order)."""
    frame = ctx.ws.sql("SELECT DISTINCT CAST(product_id AS VARCHAR) AS product_id FROM order_items "
                       "ORDER BY hash(product_id), product_id LIMIT ?", [n])
    return frame["product_id"].tolist()


def _store_backtest(ctx: RunContext, result: Any) -> None:
    """The backtest's summary next to the model (for the report and the dashboard)."""
    import json

    from shoplens.forecast.store import MODEL_NAME
    from shoplens.registry import ModelRegistry

    folder = ModelRegistry(ctx.ws).path(MODEL_NAME, "latest")
    (folder / "backtest.json").write_text(json.dumps(result.to_dict(), indent=2, default=str), encoding="utf-8")


@step("forecast", "deploy", "deploy forecaster and plan inventory", reads=READS)
def deploy_and_plan(ctx: RunContext) -> dict[str, Any]:
    from shoplens.forecast.store import MODEL_NAME
    from shoplens.forecast.workflow import plan
    from shoplens.registry import ModelRegistry

    card = ModelRegistry(ctx.ws).deploy(MODEL_NAME, ctx.outputs.get("forecast.version", "latest"))
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

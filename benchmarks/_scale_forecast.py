"""Part ``forecast`` of benchmarks/scale.py — simulator_forecast_scoring.

Data: a simulated shop (seed 19) with 10,000 products, a year of daily sales and weekly stock snapshots; one
series per product with sales. Model: the planning forecaster (mean points, bias and promotion adjustment, 4-week
error model) with the two global models (SeasonalProfile, LightGBM), two inner windows and no reconciliation —
MinT over 10,000 nodes needs a dense 10,000 × 10,000 matrix per period, which does not fit the 1 GB executors
(the reconciled path is parity-tested on small shops). Fitted locally once (its base forecasts come with it).

Protocol (same run, same forecaster): the forecasts of every series over the plan's horizon, then every product's
inventory plan — ``Forecaster.predict`` and ``forecast.inventory.inventory_plan`` in one process (``local``), and
``forecast.spark.forecast_all`` then ``plan_all`` on the standalone cluster with one, then two one-core workers
(per-series ``applyInPandas``; forecasts and plans written as Parquet). Median of three runs each. The cluster's
forecasts are checked against the local ones. Not gated (the issue asks for the seconds).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

from _scale_common import (
    BENCHMARK,
    Gate,
    load_note,
    median_timing,
    one_then_two_workers,
    say,
    scaling_records,
    sizes,
    work,
)
from shoplens.evaluation.records import BenchmarkRecord, Protocol

DATASET = "simulator_forecast_scoring"
MODELS = ["SeasonalProfile", "LightGBM"]
SERVICE_LEVEL = 0.95


def shop(series: int) -> Any:
    import shoplens as sl
    from shoplens.data.synth import simulate

    folder = work("forecast", f"shop-{series}")
    if (folder / "ws" / "done").exists():
        return sl.Workspace.open(folder / "ws")
    import shutil

    shutil.rmtree(folder / "ws", ignore_errors=True)
    say(f"simulating a shop of {series:,} products")
    ws = sl.Workspace.init(folder / "ws")
    simulate(n_customers=max(2000, series * 3), n_products=series, days=365, seed=19, n_orders=series * 30,
             events=False, reviews=False).write(ws)
    (folder / "ws" / "done").touch()
    return ws


def fitted(ws: Any, series: int) -> Any:
    from shoplens.forecast.forecaster import Forecaster
    from shoplens.forecast.workflow import forecaster_params

    path = work("forecast", f"model-{series}") / "forecaster"
    if path.exists():
        return Forecaster.load(path)
    say("fitting the forecaster")
    # reconcile set after forecaster_params: it drops overrides that are None
    params = {**forecaster_params("full", models=MODELS, cv_windows=2), "reconcile": None}
    forecaster = Forecaster(**params).fit(ws)
    forecaster.save(path)
    return forecaster


def local_path(forecaster: Any, inputs: Any) -> pd.DataFrame:
    from shoplens.forecast.inventory import inventory_plan

    predicted = forecaster.predict(inputs.horizon)
    return inventory_plan(predicted, SERVICE_LEVEL, inputs.lead_times, review_days=inputs.review_days,
                          unit_cost=inputs.unit_cost, unit_price=inputs.unit_price, stock=inputs.stock)


def run() -> tuple[list[BenchmarkRecord], list[Gate]]:
    from shoplens.forecast.spark import forecast_all, plan_all
    from shoplens.forecast.workflow import plan_inputs

    s = sizes()
    ws = shop(s.series)
    forecaster = fitted(ws, s.series)
    inputs = plan_inputs(ws, forecaster)
    notes = [load_note()]
    local = median_timing(lambda: local_path(forecaster, inputs), "forecast: local")
    expected = forecaster.predict(inputs.horizon).sort_values(["unique_id", "ds"]).reset_index(drop=True)
    out = work("forecast", "out")

    def job(spark: Any) -> Callable[[], None]:
        def forecasts_and_plans() -> None:
            forecast_all(spark, forecaster, inputs.horizon).write.mode("overwrite").parquet(str(out / "forecast"))
            written = spark.read.parquet(str(out / "forecast"))
            plan_all(spark, written, forecaster, inputs, SERVICE_LEVEL).write.mode("overwrite").parquet(
                str(out / "plan"))
        return forecasts_and_plans

    timings, peaks = one_then_two_workers("forecast", job)
    remote = pd.read_parquet(out / "forecast").sort_values(["unique_id", "ds"]).reset_index(drop=True)
    difference = float(np.abs(remote["y"].to_numpy() - expected["y"].to_numpy()).max()) \
        if remote["unique_id"].tolist() == expected["unique_id"].tolist() else None
    plans = len(pd.read_parquet(out / "plan"))
    series = len(forecaster.series_.ids)
    one, two = timings["spark_1_worker"], timings["spark_2_workers"]
    protocol = Protocol(split="none", horizon=inputs.horizon, notes="; ".join(filter(None, [
        f"forecasts of {series:,} daily product series over {inputs.horizon} days and {plans:,} inventory plans "
        f"(service level {SERVICE_LEVEL}); simulated shop (seed 19); planning forecaster with {', '.join(MODELS)}, "
        "2 inner windows, no reconciliation; standalone cluster on 127.0.0.1, one-core workers; median of 3 runs "
        "each", local.note("local"), one.note("1 worker"), two.note("2 workers"),
        f"peak RSS per executor {peaks} MB", f"largest difference of the cluster's points from the local ones "
        f"{'(rows differ)' if difference is None else f'{difference:.2e}'}", *notes])))
    common = {"benchmark": BENCHMARK, "dataset": DATASET, "variant": s.variant, "protocol": protocol}
    records = scaling_records(common, timings, local, peaks, unit="series", count=series,
                              extra={"max_point_difference": difference})
    return records, []

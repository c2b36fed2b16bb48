"""Forecasts and inventory plans for every series on Spark: the deployed forecaster's, computed per series on
the executors (docs/scale.md, "Batch scoring on Spark").

```python
from shoplens.engine.spark_engine import start_session
from shoplens.forecast.spark import forecast_all, plan_all
from shoplens.forecast.store import load_model
from shoplens.forecast.workflow import plan_inputs

spark = start_session("local[2]")
fc = load_model(ws)                                       # the deployed forecaster
inputs = plan_inputs(ws, fc)                              # lead times, stock, costs, prices per product
forecast = forecast_all(spark, fc, inputs.horizon)        # unique_id, ds, y, y_sd, y_corr, y_lo_80 …
plan = plan_all(spark, forecast, fc, inputs)              # one row per product: reorder point, order_qty …
```

How: the forecaster's combination of its base models is three stages (``forecast.ensemble.combine``), each run
where it belongs: the weighted mean of the base models and :func:`shoplens.forecast.ensemble.finish` (adjustment,
error sd, intervals) with ``applyInPandas`` **per series**, and the reconciliation of products, categories and
the total (a linear map over all nodes of one period) **per period**. The plan is ``applyInPandas`` per series
too, on the local ``inventory_plan``. Each stage is the local code on the same rows, so forecasts and plans equal
``Forecaster.predict`` and ``workflow.plan`` (to float rounding).

The base models' forecasts themselves are the forecaster's own from its origin (``Forecaster.base_``), fitted
when it was trained; a horizon longer than the fitted one runs the base models again on the driver, all series at
once (the global LightGBM and the pooled seasonal profile read every series), as the local path does.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from shoplens.engine.scoring import default_partitions, spark_schema, to_spark
from shoplens.errors import InputError

if TYPE_CHECKING:
    from shoplens.forecast.forecaster import Forecaster
    from shoplens.forecast.workflow import PlanInputs

PLAN_SCHEMA = ("unique_id string, lead_time_days bigint, review_days bigint, demand_per_day double, "
               "lead_time_demand double, lead_time_sd double, safety_stock double, reorder_point double, "
               "order_up_to double, target string, service_level double, eoq double, newsvendor_qty double, "
               "on_hand double, on_order double, inventory_position double, order_now boolean, order_qty double")
STOCK_COLUMNS = ("on_hand", "on_order", "inventory_position", "order_now", "order_qty")


def forecast_columns(levels: Sequence[int]) -> list[str]:
    """The forecast's columns (``Forecaster.predict``'s, with ``_`` for ``-`` as the warehouse stores them)."""
    return ["unique_id", "ds", "y", "y_sd", "y_corr", *[f"y_{side}_{level}" for level in levels
                                                       for side in ("lo", "hi")]]


def forecast_all(spark: Any, forecaster: Forecaster, horizon: int | None = None, *,
                 partitions: int | None = None) -> Any:
    """Every series' forecast for ``horizon`` periods (default the forecaster's): ``Forecaster.predict(horizon)``
    as a lazy Spark DataFrame, columns :func:`forecast_columns` (``y_lo_80`` for ``y-lo-80``)."""
    forecaster._check_fitted()
    h = horizon or forecaster.horizon
    if h < 1:
        raise InputError(f"horizon={h}: forecast at least one period")
    comb, levels = forecaster.combination_, tuple(forecaster.levels)
    nonnegative, last = forecaster.settings_.nonnegative, forecaster.last_period(h)
    base = forecaster.base_forecasts(h)
    context = spark.sparkContext.broadcast({
        "comb": comb, "summing": forecaster.summing_, "series": frozenset(forecaster.series_.ids)})
    base_schema = spark_schema(base)
    points_schema = f"{base_schema}, y_hat double"
    frame = to_spark(spark, base, base_schema, partitions or default_partitions(spark))

    def points(part: pd.DataFrame) -> pd.DataFrame:
        from shoplens.forecast.ensemble import _combine_frame

        return _combine_frame(part, context.value["comb"].weights)

    def reconciled(part: pd.DataFrame) -> pd.DataFrame:
        from shoplens.forecast.ensemble import _reconciled

        shared = context.value
        return _reconciled(part, shared["summing"], shared["comb"].g_matrix, shared["comb"].nodes)[part.columns]

    def finished(part: pd.DataFrame) -> pd.DataFrame:
        from shoplens.forecast.ensemble import finish

        shared = context.value
        if part["unique_id"].iloc[0] not in shared["series"]:  # an aggregate: needed for reconciling only
            return pd.DataFrame(columns=forecast_columns(levels))
        out = finish(part, part, shared["comb"], levels, nonnegative)
        out = out[out["ds"] <= last].drop(columns=[c for c in ("actual", "cutoff") if c in out])
        return out.rename(columns=lambda c: c.replace("-", "_"))[forecast_columns(levels)]

    combined = frame.groupBy("unique_id").applyInPandas(points, points_schema)
    if comb.g_matrix is not None and forecaster.summing_ is not None:
        combined = combined.groupBy("ds").applyInPandas(reconciled, points_schema)
    schema = ", ".join(["unique_id string", "ds timestamp", *[f"{c} double" for c in forecast_columns(levels)[2:]]])
    return combined.groupBy("unique_id").applyInPandas(finished, schema)


def plan_all(spark: Any, forecast: Any, forecaster: Forecaster, inputs: PlanInputs, service_level: float = 0.95, *,
             fill_rate: float | None = None, ordering_cost: float | None = None, holding_rate: float = 0.25) -> Any:
    """Every product's inventory plan from ``forecast`` (:func:`forecast_all` over ``inputs.horizon`` periods):
    ``workflow.plan``'s rows as a lazy Spark DataFrame (:data:`PLAN_SCHEMA`; the stock columns empty for
    products without stock)."""
    from shoplens.forecast.inventory import inventory_plan

    # the settings checked on the driver by the same function, so that a bad one fails with its own message here
    # rather than inside every task
    inventory_plan(pd.DataFrame({"unique_id": ["x"], "ds": [pd.Timestamp(0)], "y": [0.0]}), service_level, 0,
                   review_days=0, fill_rate=fill_rate, holding_rate=holding_rate)
    quantiles = dict(forecaster.combination_.sum_quantiles)
    review = inputs.review_days
    per_product = to_spark(spark, _product_inputs(inputs), "unique_id string, lead bigint, cost double, "
                           "price double, has_stock boolean, on_hand double, on_order double")

    def plan_series(part: pd.DataFrame) -> pd.DataFrame:
        return _plan_series(part, quantiles, review, service_level, fill_rate, ordering_cost, holding_rate)

    joined = forecast.join(per_product, "unique_id", "left")
    return joined.groupBy("unique_id").applyInPandas(plan_series, PLAN_SCHEMA)


def _product_inputs(inputs: PlanInputs) -> pd.DataFrame:
    ids = list(inputs.lead_times)
    stock = inputs.stock.drop_duplicates("unique_id").set_index("unique_id") if inputs.stock is not None else None
    has_stock = [stock is not None and uid in stock.index for uid in ids]
    frame = pd.DataFrame({"unique_id": ids, "lead": [int(inputs.lead_times[u]) for u in ids],
                          "cost": [inputs.unit_cost.get(u) for u in ids],
                          "price": [inputs.unit_price.get(u) for u in ids], "has_stock": has_stock})
    for column in ("on_hand", "on_order"):
        frame[column] = [float(stock.at[u, column]) if has and column in stock and pd.notna(stock.at[u, column])
                         else np.nan for u, has in zip(ids, has_stock, strict=True)]
    return frame.astype({"cost": float, "price": float})


def _plan_series(part: pd.DataFrame, quantiles: dict[float, float], review: int, service_level: float,
                 fill_rate: float | None, ordering_cost: float | None, holding_rate: float) -> pd.DataFrame:
    """One product's plan with the local ``inventory_plan`` (its forecast rows carry its inputs)."""
    from shoplens.forecast.inventory import inventory_plan

    uid = str(part["unique_id"].iloc[0])
    first = part.iloc[0]
    forecast = part[["unique_id", "ds", "y", "y_sd", "y_corr"]].sort_values("ds").reset_index(drop=True)
    forecast.attrs["sum_quantiles"] = quantiles
    stock = pd.DataFrame({"unique_id": [uid], "on_hand": [first["on_hand"]], "on_order": [first["on_order"]]}) \
        if first["has_stock"] is True or first["has_stock"] == 1 else None
    result = inventory_plan(forecast, service_level, {uid: int(first["lead"])}, review_days=review,
                            fill_rate=fill_rate, ordering_cost=ordering_cost, holding_rate=holding_rate,
                            unit_cost=_known(uid, first["cost"]), unit_price=_known(uid, first["price"]), stock=stock)
    for column in STOCK_COLUMNS:
        if column not in result:
            result[column] = None
    return result.astype({"eoq": float, "newsvendor_qty": float})[[c.split()[0] for c in PLAN_SCHEMA.split(", ")]]


def _known(uid: str, value: Any) -> dict[str, float]:
    return {} if value is None or pd.isna(value) else {uid: float(value)}


__all__ = ["PLAN_SCHEMA", "forecast_all", "forecast_columns", "plan_all"]

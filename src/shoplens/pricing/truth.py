"""The store simulator's ground truth as pricing needs it: true elasticities and true demand curves.

A workspace written by ``SimulatedShop.write`` keeps the truth in ``<workspace>/truth`` (docs/simulator.md).
The oracle demand curve of a product is ``base · (P / reference_price) ** e``: expected units per day at
price P, season averaged, without promotion or shock. ``base`` is the simulator's expected order lines at
the reference price times units per line, averaged over the last ``RECENT_DAYS`` of the simulated period
(the shop's current level: its customer base grows, so the average over all years would understate it).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from shoplens.errors import InputError

if TYPE_CHECKING:
    from shoplens.data.synth import Truth
    from shoplens.workspace import Workspace


def read_truth(ws: Workspace) -> Truth | None:
    """The simulator's truth stored in the workspace, or None for a real shop."""
    folder = ws.path / "truth"
    if not (folder / "manifest.json").exists():
        return None
    from shoplens.data.synth import Truth

    return Truth.read(folder)


RECENT_DAYS = 364


def true_demand(truth: Any) -> pd.DataFrame:
    """Per product: true elasticity, reference price, cost and base units per day at the reference price."""
    if isinstance(truth, pd.DataFrame):
        products = truth
    elif hasattr(truth, "tables"):
        products = truth.tables["products"]
    else:
        raise InputError("truth must be the simulator's Truth or its products table")
    cached = getattr(truth, "_pricing_demand", None)
    if cached is not None:
        return cached
    needed = {"product_id", "elasticity", "reference_price", "base_lines_per_day", "units_per_line"}
    missing = needed - set(products.columns)
    if missing:
        raise InputError(f"simulator truth lacks {', '.join(sorted(missing))} (written by an older simulator?)")
    frame = products[["product_id", "elasticity", "reference_price", "cost", "base_lines_per_day",
                      "units_per_line"]].copy()
    lines = frame["base_lines_per_day"]
    if hasattr(truth, "tables") and "demand" in truth.tables:
        lines = frame["product_id"].map(_recent_base_lines(truth.tables["demand"], products)).fillna(lines)
    frame["base_units_per_day"] = lines * frame["units_per_line"].fillna(1.0)
    frame = frame.set_index("product_id")
    if hasattr(truth, "tables"):
        truth._pricing_demand = frame
    return frame


def _recent_base_lines(demand: pd.DataFrame, products: pd.DataFrame) -> pd.Series:
    """Expected lines per day at the reference price, no promotion or shock, over the last RECENT_DAYS days."""
    last = pd.to_datetime(demand["day"]).max()
    recent = demand[pd.to_datetime(demand["day"]) > last - pd.Timedelta(days=RECENT_DAYS)]
    recent = recent[recent["expected_lines"] > 0]
    traits = products.set_index("product_id")
    ids = recent["product_id"]
    price_effect = (recent["net_price"] / ids.map(traits["reference_price"]).to_numpy()) \
        ** ids.map(traits["elasticity"]).to_numpy()
    base = recent["expected_lines"] / (price_effect * np.exp(recent["hidden_log_lift"] + recent["shock_log"]))
    return base.groupby(ids).mean()


def true_elasticities(truth: Any) -> pd.Series:
    """True elasticity per product_id (from a Truth, its products table or a Series)."""
    if isinstance(truth, pd.Series):
        return truth
    return true_demand(truth)["elasticity"]


def true_units(demand: pd.DataFrame, product_ids: np.ndarray, prices: np.ndarray) -> np.ndarray:
    """Expected units per day at ``prices`` (broadcast over a trailing axis) under the true demand curves."""
    rows = demand.loc[product_ids]
    base = rows["base_units_per_day"].to_numpy()
    ratio = prices / rows["reference_price"].to_numpy().reshape(-1, *([1] * (np.ndim(prices) - 1)))
    shape = (-1, *([1] * (np.ndim(prices) - 1)))
    return base.reshape(shape) * ratio ** rows["elasticity"].to_numpy().reshape(shape)


def simulate_price_test(truth: Any, schedule: pd.DataFrame, price_change: float, current_prices: pd.Series,
                        seed: int = 0) -> pd.DataFrame:
    """Daily sales of a price test run inside the simulated shop, on the days of ``schedule`` (product_id,
    day, arm): each product-day's expected lines keep the simulator's season and demand shocks (promotions
    and their hidden lifts removed), are moved to the arm's price (the current price, or it times
    ``1 + price_change``) along the true demand curve, and drawn with the simulator's noise (negative
    binomial lines, units per line). Returns product_id, day, units, revenue."""
    rng = np.random.default_rng(seed)
    demand = truth.tables["demand"]
    traits = truth.tables["products"].set_index("product_id")
    days = pd.to_datetime(demand["day"])
    wanted = demand["product_id"].isin(schedule["product_id"].unique()) & days.isin(pd.to_datetime(schedule["day"]))
    rows = demand[wanted].assign(day=days[wanted])
    plan = schedule.assign(day=pd.to_datetime(schedule["day"])).merge(rows, on=["product_id", "day"], how="inner")
    if len(plan) < len(schedule):
        raise InputError("the schedule has days outside the simulated period")
    elasticity = plan["product_id"].map(traits["elasticity"]).to_numpy()
    reference = plan["product_id"].map(traits["reference_price"]).to_numpy()
    base = plan["expected_lines"] / ((plan["net_price"] / reference) ** elasticity * np.exp(plan["hidden_log_lift"]))
    price = plan["product_id"].map(current_prices).to_numpy(float) * np.where(plan["arm"] == "treatment",
                                                                                1 + price_change, 1.0)
    mean = base.to_numpy() * (price / reference) ** elasticity
    shape = (truth.params.get("difficulty") or {}).get("nb_shape")
    rate = mean * rng.gamma(shape, 1 / shape, len(mean)) if shape else mean
    lines = rng.poisson(rate)
    per_line = plan["product_id"].map(traits["units_per_line"]).fillna(1.0).to_numpy()
    units = lines + rng.poisson(np.maximum(per_line - 1, 0) * lines)
    return pd.DataFrame({"product_id": plan["product_id"], "day": plan["day"], "units": units,
                         "revenue": units * price})

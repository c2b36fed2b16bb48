"""Evaluation against known truth: elasticity recovery and the optimiser's profit uplift versus an oracle.

Protocol (simulator ground truth): the estimators see only the warehouse (``daily_sales``, ``products``);
the truth (elasticities, demand curves) is used for scoring alone. Every number stands beside the naive
per-product OLS baseline measured on the same panel in the same run.

Uplift: every policy's prices are scored under the *true* demand curves with the same stock, horizon and
constraints: the oracle (the optimiser fed the true elasticities and baseline demand), ours, the optimiser
fed naive-OLS elasticities, and keeping prices unchanged (zero uplift by definition). The share of the
oracle's uplift is ``uplift(policy) / uplift(oracle)``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from shoplens.pricing.truth import true_demand, true_elasticities, true_units

if TYPE_CHECKING:
    from shoplens.evaluation import BenchmarkRecord
    from shoplens.pricing.model import ElasticityModel
    from shoplens.pricing.optimize import PriceOptimizer, PriceSuggestions
    from shoplens.pricing.panel import PricePanel

BENCHMARK = "pricing"


def elasticity_metrics(estimate: np.ndarray, lower: np.ndarray, upper: np.ndarray, true: np.ndarray,
                       level: float = 0.9) -> dict[str, float]:
    """MAE, bias, interval coverage and correlation over the products that have an estimate."""
    has = np.isfinite(estimate) & np.isfinite(true)
    if not has.any():
        return {"products": 0}
    error = estimate[has] - true[has]
    metrics = {"elasticity_mae": float(np.abs(error).mean()), "elasticity_bias": float(error.mean()),
               "elasticity_rmse": float(np.sqrt((error**2).mean())),
               "elasticity_correlation": float(np.corrcoef(estimate[has], true[has])[0, 1]) if has.sum() > 2
               else float("nan"), "products": int(has.sum())}
    if np.isfinite(lower[has]).all():
        inside = (lower[has] <= true[has]) & (true[has] <= upper[has])
        metrics[f"ci{round(level * 100)}_coverage"] = float(inside.mean())
    return metrics


def elasticity_records(model: ElasticityModel, panel: PricePanel, truth: Any, *, dataset: str = "simulator_pricing",
                       notes: str = "") -> list[BenchmarkRecord]:
    """Our record and the naive-OLS baseline record, scored against the true elasticities."""
    from scipy.stats import norm

    from shoplens.evaluation import BenchmarkRecord, Protocol
    from shoplens.pricing.naive import fit_naive

    true = true_elasticities(truth)
    ours = model.elasticities_.set_index("product_id")
    ours = ours[ours["status"] == "identified"]
    level = model.confidence
    our_metrics = elasticity_metrics(ours["elasticity"].to_numpy(), ours["lower"].to_numpy(),
                                     ours["upper"].to_numpy(), true.reindex(ours.index).to_numpy(), level)
    raw = elasticity_metrics(ours["estimate"].to_numpy(), np.full(len(ours), np.nan), np.full(len(ours), np.nan),
                             true.reindex(ours.index).to_numpy())
    naive = fit_naive(panel)
    z = float(norm.ppf(0.5 + level / 2))
    naive_metrics = elasticity_metrics(naive.elasticity, naive.elasticity - z * naive.se,
                                       naive.elasticity + z * naive.se, true.reindex(panel.products).to_numpy(), level)
    mean_true = float(true.reindex(panel.products).mean())
    naive_metrics |= {"naive_pooled_elasticity": naive.pooled, "true_mean_elasticity": mean_true}
    our_metrics |= {"raw_elasticity_mae": raw.get("elasticity_mae"), "naive_ols_mae": naive_metrics.get(
        "elasticity_mae"), "naive_ols_bias": naive_metrics.get("elasticity_bias")}
    seed = _truth_seed(truth)
    protocol = Protocol(split="simulator_truth", seed=seed, notes=notes or _describe(panel, model))
    method = model.method.replace("_", "-") + ("+shrinkage" if model.shrinkage else "")
    seconds = model.info_.get("seconds") if hasattr(model, "info_") else None
    return [BenchmarkRecord.create(benchmark=BENCHMARK, dataset=dataset, model=method, role="ours", protocol=protocol,
                                   metrics=_finite(our_metrics), seconds=seconds),
            BenchmarkRecord.create(benchmark=BENCHMARK, dataset=dataset, model="naive-ols", role="baseline",
                                   protocol=protocol, metrics=_finite(naive_metrics))]


def _truth_seed(truth: Any) -> int | None:
    params = getattr(truth, "params", None)
    return int(params["seed"]) if isinstance(params, dict) and "seed" in params else None


def _describe(panel: PricePanel, model: ElasticityModel) -> str:
    return (f"{panel.n_products} products, {panel.n_days} days of daily_sales "
            f"({panel.days[0].date()} to {panel.days[-1].date()}); per-product estimates scored against the "
            f"simulator's true elasticities; {round(model.confidence * 100)}% intervals; naive = per-product OLS "
            "of log units on log paid price over sale days")


def _finite(metrics: dict[str, Any]) -> dict[str, Any]:
    return {k: (None if isinstance(v, float) and not np.isfinite(v) else v) for k, v in metrics.items()}


# -- the optimiser against the oracle -------------------------------------------------------------------------
@dataclass
class UpliftComparison:
    """Profit uplift over current prices under the true demand, per policy, and the constraint checks."""

    uplift: dict[str, float]  # oracle, ours, naive, zero (currency over the horizon)
    current_profit: float
    violations: dict[str, list[str]]
    suggestions: dict[str, PriceSuggestions]
    profit_change_coverage: float  # share of products whose true profit change lies in our interval

    def share(self, policy: str) -> float:
        oracle = self.uplift["oracle"]
        return self.uplift[policy] / oracle if oracle > 0 else float("nan")


def oracle_table(table: pd.DataFrame, truth: Any) -> pd.DataFrame:
    """The optimiser's input with the true elasticity and baseline demand at the current price (no uncertainty)."""
    demand = true_demand(truth)
    ids = table["product_id"].to_numpy()
    known = np.isin(ids, demand.index)
    out = table[known].copy()
    prices = out["current_price"].to_numpy(float)
    out["elasticity"] = demand.loc[out["product_id"], "elasticity"].to_numpy()
    out["sd"] = 0.0
    out["baseline_units_per_day"] = true_units(demand, out["product_id"].to_numpy(), prices)
    out["baseline_sd"] = 0.0
    out["status"] = "identified"
    return out


def true_profit(suggestions: PriceSuggestions, truth: Any, horizon_days: int,
                stock: pd.DataFrame | None = None) -> pd.Series:
    """Profit over the horizon of each product at its suggested and current price under the true demand."""
    demand = true_demand(truth)
    table = suggestions.table
    table = table[table["product_id"].isin(demand.index)]
    cost = demand.loc[table["product_id"], "cost"].to_numpy()
    ids = table["product_id"].to_numpy()
    out = {}
    for column in ("suggested_price", "current_price"):
        prices = table[column].to_numpy(float)
        units = true_units(demand, ids, prices) * horizon_days
        if stock is not None:
            cap = table["product_id"].map(dict(zip(stock["product_id"], stock["available"], strict=True)))
            cap = cap.to_numpy(float)
            units = np.where(np.isfinite(cap), np.minimum(units, cap), units)
        out[column] = (prices - cost) * units
    return pd.DataFrame(out, index=ids)


def compare_uplift(ours: ElasticityModel, naive: ElasticityModel, truth: Any, optimizer: PriceOptimizer,
                   stock: pd.DataFrame | None = None) -> UpliftComparison:
    """Oracle, ours, naive-OLS and zero-change policies under the same optimiser, constraints and stock."""
    base = ours.elasticities_.copy()
    weights = _weights(base)
    tables = {
        "ours": base.assign(category_weight=weights),
        "naive": naive.elasticities_.set_index("product_id").reindex(base["product_id"]).reset_index()
        .assign(category_weight=weights),
        "oracle": oracle_table(base.assign(category_weight=weights), truth),
    }
    suggestions = {name: optimizer.optimize(table, stock=stock) for name, table in tables.items()}
    profits = {name: true_profit(s, truth, optimizer.horizon_days, stock) for name, s in suggestions.items()}
    current = float(profits["oracle"]["current_price"].sum())
    uplift = {name: float(p["suggested_price"].sum() - p["current_price"].sum()) for name, p in profits.items()}
    uplift["zero"] = 0.0
    coverage = _change_coverage(suggestions["ours"], profits["ours"])
    return UpliftComparison(uplift=uplift, current_profit=current,
                            violations={name: s.violations() for name, s in suggestions.items()},
                            suggestions=suggestions, profit_change_coverage=coverage)


def _weights(table: pd.DataFrame) -> np.ndarray:
    from shoplens.pricing.optimize import _category_weights

    return _category_weights(table)


def _change_coverage(suggestions: PriceSuggestions, profits: pd.DataFrame) -> float:
    table = suggestions.table.set_index("product_id")
    changed = table[table["change"].abs() > 1e-9]
    if changed.empty:
        return float("nan")
    true_change = (profits["suggested_price"] - profits["current_price"]).reindex(changed.index)
    inside = (changed["profit_change_lower"] <= true_change) & (true_change <= changed["profit_change_upper"])
    return float(inside.mean())

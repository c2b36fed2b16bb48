"""The end-to-end pricing run shared by ``shoplens pricing elasticity`` and the pipeline: estimate, check
against the simulator's truth when there is one, suggest prices under default constraints, find
cross-price effects, state what the data identify, and register it all as one bundle."""

from __future__ import annotations

import copy
from typing import TYPE_CHECKING, Any

from shoplens.errors import InputError

if TYPE_CHECKING:
    import pandas as pd

    from shoplens.pricing.model import ElasticityModel
    from shoplens.pricing.optimize import PriceOptimizer
    from shoplens.workspace import Workspace

# Constraints of the stored suggestions (the CLI, API and dashboard can ask for others at any time).
DEFAULT_CONSTRAINTS: dict[str, Any] = {"objective": "profit", "margin_floor": 0.1, "max_change": 0.1,
                                       "endings": (0.99,), "horizon_days": 28, "category_max_change": 0.05}


def default_optimizer(**overrides: Any) -> PriceOptimizer:
    from shoplens.pricing.optimize import PriceOptimizer

    return PriceOptimizer(**(DEFAULT_CONSTRAINTS | overrides))


def suggest(ws: Workspace, model: ElasticityModel, optimizer: PriceOptimizer | None = None,
            stock: pd.DataFrame | None = None) -> Any:
    """Suggested prices; stock from the workspace (forecast plan or inventory snapshot) unless given, and the
    forecast module's expected demand when it has stored a plan."""
    from shoplens.pricing.inputs import available_stock, forecast_demand

    optimizer = copy.copy(optimizer) if optimizer is not None else default_optimizer()
    if optimizer.objective == "profit" and not (model.elasticities_["cost"] > 0).any():
        optimizer.objective = "revenue"  # no costs anywhere: revenue is all that can be optimised
    if stock is None:
        found = available_stock(ws)
        stock = found[["product_id", "available"]] if found is not None else None
    return optimizer.optimize(model, stock=stock, demand=forecast_demand(ws))


def run_pricing(ws: Workspace, model: ElasticityModel, *, prices: pd.DataFrame | None = None, cross_top_k: int = 4,
                deploy: bool = False) -> dict[str, Any]:
    """Fit ``model`` on the workspace and register the bundle; returns a summary for people and the pipeline."""
    from shoplens.pricing.cross import cross_price_effects
    from shoplens.pricing.identify import identification_report
    from shoplens.pricing.store import register_bundle

    identification = identification_report(ws)
    model.fit(ws, prices=prices)
    suggestions = suggest(ws, model)
    cross = cross_price_effects(model, top_k=cross_top_k) if cross_top_k >= 2 else None
    evaluation = evaluate_on_truth(ws, model)
    metrics = evaluation["records"] if evaluation else None
    version = register_bundle(ws, model, deploy=deploy, metrics=metrics, suggestions=suggestions,
                              cross_effects=cross, identification=identification, evaluation=evaluation).version
    table = model.elasticities_
    summary: dict[str, Any] = {
        "version": version, "products": len(table), "identified": int((table["status"] == "identified").sum()),
        "not_identifiable": int((table["status"] == "not_identifiable").sum()),
        "median_elasticity": _rounded(table.loc[table["status"] == "identified", "elasticity"].median()),
        "suggested_changes": suggestions.totals["changed"],
        "expected_profit_change": round(suggestions.totals["profit_change"], 2),
        "profit_change_interval": [round(suggestions.totals["profit_change_lower"], 2),
                                   round(suggestions.totals["profit_change_upper"], 2)],
        "seconds": model.info_["seconds"],
    }
    if cross is not None:
        summary["cross_pairs"] = int(cross["cross_elasticity"].notna().sum())
    if evaluation:
        summary |= {k: evaluation["summary"][k] for k in evaluation["summary"]}
    return summary


def evaluate_on_truth(ws: Workspace, model: ElasticityModel) -> dict[str, Any] | None:
    """Elasticity recovery and the optimiser against the oracle, when the workspace holds simulator truth."""
    from shoplens.pricing.evaluation import compare_uplift
    from shoplens.pricing.model import ElasticityModel
    from shoplens.pricing.truth import read_truth

    truth = read_truth(ws)
    if truth is None:
        return None
    try:
        records = model.evaluate(truth)
    except InputError:
        return None
    naive = ElasticityModel(method="naive_ols", shrinkage=False, history_days=model.history_days,
                            min_days=model.min_days, min_units=model.min_units).fit(model.panel_, model.catalog_)
    optimizer = default_optimizer()
    from shoplens.pricing.inputs import available_stock

    stock = available_stock(ws)
    comparison = compare_uplift(model, naive, truth, optimizer,
                                stock=stock[["product_id", "available"]] if stock is not None else None)
    ours = records[0].metrics
    summary = {"elasticity_mae": _rounded(ours.get("elasticity_mae")),
               "naive_ols_mae": _rounded(ours.get("naive_ols_mae")),
               "ci90_coverage": _rounded(ours.get(f"ci{round(model.confidence * 100)}_coverage")),
               "uplift_share_of_oracle": _rounded(comparison.share("ours")),
               "naive_uplift_share_of_oracle": _rounded(comparison.share("naive")),
               "constraint_violations": sum(len(v) for v in comparison.violations.values())}
    return {"records": [r.model_dump() for r in records], "summary": summary, "uplift": comparison.uplift,
            "current_profit": comparison.current_profit, "violations": comparison.violations}


def _rounded(value: Any, digits: int = 4) -> float | None:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return round(number, digits) if number == number else None

"""The price optimiser: the known optimum of a constant-elasticity demand, every constraint, and the profit
uplift it captures on the simulator against an oracle knowing the true demand curves."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from shoplens.errors import InputError
from shoplens.pricing import ElasticityModel, PriceOptimizer, available_stock, check_constraints, compare_uplift
from shoplens.pricing.workflow import default_optimizer

from .conftest import PricingShop


def _table(**columns: object) -> pd.DataFrame:
    base = {"product_id": ["A"], "category": ["X"], "status": ["identified"], "current_price": [100.0],
            "cost": [50.0], "elasticity": [-3.0], "sd": [0.0], "baseline_units_per_day": [10.0], "baseline_sd": [0.0]}
    return pd.DataFrame(base | columns)


def test_the_optimum_of_a_constant_elasticity_demand_is_found() -> None:
    # profit (P - c) P^e is maximal at P = c e / (1 + e) = 75 for c = 50, e = -3
    plan = PriceOptimizer(max_change=0.3, endings=None, n_draws=1).optimize(_table())
    assert plan.table["suggested_price"].iloc[0] == pytest.approx(75, abs=1.0)
    assert plan.table["profit_change"].iloc[0] > 0 and plan.violations() == []
    # inelastic demand: profit rises with price, so the price goes to the max change
    raised = PriceOptimizer(max_change=0.1, endings=(0.99,), n_draws=1).optimize(_table(elasticity=[-0.6]))
    assert raised.table["suggested_price"].iloc[0] == 109.99


def test_margin_floor_endings_and_max_change_hold() -> None:
    table = _table(product_id=["A", "B", "C"], category=["X"] * 3, status=["identified"] * 3,
                   current_price=[20.0, 9.49, 100.0], cost=[19.0, 3.0, 40.0], elasticity=[-4.0, -1.5, -2.5],
                   sd=[0.2] * 3, baseline_units_per_day=[5.0, 8.0, 2.0], baseline_sd=[0.1] * 3)
    optimizer = PriceOptimizer(margin_floor=0.2, max_change=0.15, endings=(0.49, 0.99))
    plan = optimizer.optimize(table)
    assert plan.violations() == []
    rows = plan.table.set_index("product_id")
    # A sells below the 20% margin floor (cost 19 → floor 23.75) and cannot reach it within +15%: kept
    assert rows.loc["A", "suggested_price"] == 20.0 and "margin floor" in rows.loc["A", "reason"]
    changed = rows[rows["change"].abs() > 0]
    assert (changed["suggested_price"] % 1).round(2).isin([0.49, 0.99]).all()
    assert (changed["change"].abs() <= 0.15 + 1e-9).all()
    assert (1 - changed["cost"] / changed["suggested_price"] >= 0.2 - 1e-9).all()
    broken = plan.table.assign(suggested_price=[30.0, 5.0, 100.0])
    problems = check_constraints(broken, plan.constraints)
    assert any("beyond" in p for p in problems) and any("ending" in p for p in problems)


def test_scarce_stock_raises_the_price_and_a_category_bound_holds() -> None:
    table = _table(product_id=["A", "B"], category=["X", "X"], status=["identified"] * 2, current_price=[50.0, 50.0],
                   cost=[20.0, 20.0], elasticity=[-2.5, -2.5], sd=[0.1, 0.1], baseline_units_per_day=[10.0, 10.0],
                   baseline_sd=[0.0, 0.0])
    free = PriceOptimizer(max_change=0.2, endings=None).optimize(table)
    assert (free.table["change"] < 0).all()  # elastic and cheap to make: cut
    scarce = PriceOptimizer(max_change=0.2, endings=None).optimize(
        table, stock=pd.DataFrame({"product_id": ["A"], "available": [100.0]}))
    rows = scarce.table.set_index("product_id")
    assert rows.loc["A", "change"] > 0 and rows.loc["A", "units_suggested"] <= 100 + 1e-9  # demand 280 > stock 100
    assert rows.loc["B", "change"] < 0 and scarce.violations() == []
    bounded = PriceOptimizer(max_change=0.2, endings=None, category_max_change=0.05).optimize(table)
    weights = bounded.table["category_weight"]
    assert abs((weights * bounded.table["change"]).sum()) <= 0.05 + 1e-9 and bounded.violations() == []
    kept = PriceOptimizer(max_change=0.2, endings=None, category_min_units=1.0).optimize(
        table.assign(elasticity=[-0.7, -0.7]))
    assert kept.table["units_suggested"].sum() >= kept.table["units_current"].sum() - 1e-6
    assert kept.violations() == []


def test_uncertain_elasticities_give_intervals_and_revenue_needs_no_cost() -> None:
    plan = PriceOptimizer(objective="revenue", max_change=0.2, endings=None).optimize(
        _table(cost=[np.nan], elasticity=[-0.5], sd=[0.4], baseline_sd=[1.0]))
    row = plan.table.iloc[0]
    assert row["change"] > 0 and row["revenue_change_lower"] < row["revenue_change"] < row["revenue_change_upper"]
    assert plan.totals["revenue_change_lower"] < plan.totals["revenue_change_upper"]
    no_cost = PriceOptimizer(objective="profit").optimize(_table(cost=[np.nan]))
    assert no_cost.table["change"].iloc[0] == 0 and "no cost" in no_cost.table["reason"].iloc[0]


@pytest.mark.parametrize("settings", [{"objective": "margin"}, {"margin_floor": 15}, {"max_change": 0},
                                      {"endings": (99,)}, {"horizon_days": 0}, {"category_min_units": 2}])
def test_bad_constraints_are_refused(settings: dict) -> None:
    with pytest.raises(InputError):
        PriceOptimizer(**settings).optimize(_table())


def test_bad_stock_and_tables_are_refused() -> None:
    with pytest.raises(InputError, match="available"):
        PriceOptimizer().optimize(_table(), stock=pd.DataFrame({"product_id": ["A"], "units": [3]}))
    with pytest.raises(InputError, match="lacks"):
        PriceOptimizer().optimize(pd.DataFrame({"product_id": ["A"]}))


def test_the_optimiser_captures_most_of_the_oracles_uplift_on_the_simulator(pricing_shop: PricingShop,
                                                                          capsys: pytest.CaptureFixture) -> None:
    model = pricing_shop.model
    naive = ElasticityModel(method="naive_ols", shrinkage=False).fit(model.panel_, model.catalog_)
    stock = available_stock(pricing_shop.ws)
    assert stock is not None and (stock["available"] >= 0).all()
    comparison = compare_uplift(model, naive, pricing_shop.truth, default_optimizer(),
                                stock=stock[["product_id", "available"]])
    with capsys.disabled():
        print(f"\noptimiser: share of the oracle's uplift ours {comparison.share('ours'):.3f}, naive "
              f"{comparison.share('naive'):.3f}; oracle uplift {comparison.uplift['oracle']:,.0f} on "
              f"{comparison.current_profit:,.0f}")
    assert comparison.uplift["oracle"] > 0 and comparison.uplift["zero"] == 0
    assert comparison.share("ours") >= 0.8
    assert comparison.share("ours") > comparison.share("naive")
    assert all(v == [] for v in comparison.violations.values())
    assert 0.7 <= comparison.profit_change_coverage <= 1.0


def test_a_demand_forecast_replaces_the_baseline() -> None:
    table = _table(product_id=["A", "B"], category=["X", "X"], status=["identified"] * 2,
                   current_price=[100.0, 100.0], cost=[50.0, 50.0], elasticity=[-3.0, -3.0], sd=[0.0, 0.0],
                   baseline_units_per_day=[10.0, 0.0], baseline_sd=[1.0, 0.0])
    optimizer = PriceOptimizer(max_change=0.3, endings=None, n_draws=50)
    plain = optimizer.optimize(table).table.set_index("product_id")
    assert plain.loc["B", "reason"] == "price kept: no recent sales"
    forecast = pd.DataFrame({"product_id": ["A", "B"], "units_per_day": [20.0, 5.0]})
    planned = optimizer.optimize(table, demand=forecast).table.set_index("product_id")
    assert planned.loc["A", "units_current"] == pytest.approx(2 * plain.loc["A", "units_current"], rel=0.05)
    assert planned.loc["B", "change"] < 0  # forecast demand makes it priceable
    with pytest.raises(InputError, match="units_per_day"):
        optimizer.optimize(table, demand=forecast.assign(units_per_day=[-1.0, 2.0]))


def test_the_forecast_modules_inventory_plan_supplies_stock_and_demand(delivery_ws: object) -> None:
    """With a stored inventory plan (shoplens.forecast), its inventory position caps sales and its forecast
    demand per day replaces the last year's average at the current price."""
    from shoplens.forecast import inventory_plan
    from shoplens.forecast.store import write_plan
    from shoplens.pricing.inputs import forecast_demand
    from shoplens.pricing.workflow import suggest

    model = ElasticityModel(history_days=364).fit(delivery_ws)
    identified = model.elasticities_[model.elasticities_["status"] == "identified"]
    planned = identified["product_id"].head(4).tolist()
    days = pd.date_range("2025-02-05", periods=28)
    forecast = pd.DataFrame([(p, d, 3.0 + i) for i, p in enumerate(planned) for d in days],
                            columns=["unique_id", "ds", "y"])
    on_hand = pd.DataFrame({"unique_id": planned, "on_hand": [5.0, 500.0, 500.0, 500.0], "on_order": 0.0})
    write_plan(delivery_ws, inventory_plan(forecast, stock=on_hand), "test")
    stock = available_stock(delivery_ws)
    assert stock["source"].iloc[0].startswith("forecast inventory plan")
    assert dict(zip(stock["product_id"], stock["available"], strict=True)) == dict(zip(planned, on_hand["on_hand"],
                                                                                       strict=True))
    assert forecast_demand(delivery_ws)["units_per_day"].tolist() == [3.0, 4.0, 5.0, 6.0]
    rows = suggest(delivery_ws, model).table.set_index("product_id").loc[planned]
    assert rows["baseline_units_per_day"].tolist() == [3.0, 4.0, 5.0, 6.0]
    assert rows["stock"].tolist() == [5.0, 500.0, 500.0, 500.0]
    # 5 units for 28 days of a demand of 3 a day: no cut, and sales never exceed the stock
    assert rows.loc[planned[0], "change"] >= 0 and rows.loc[planned[0], "units_suggested"] <= 5 + 1e-9

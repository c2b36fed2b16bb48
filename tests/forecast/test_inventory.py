"""Inventory closed forms against stockpyl's published examples, lead-time demand and the plan."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from shoplens.errors import InputError
from shoplens.forecast.inventory import (
    LeadTimeDemand,
    eoq,
    inventory_plan,
    lead_time_demand,
    newsvendor_normal,
    safety_stock,
)


def test_eoq_matches_stockpyl_example() -> None:
    quantity, cost = eoq(8, 0.225, 1300)
    assert round(quantity, 4) == 304.0468
    assert round(cost, 4) == 68.4105


def test_newsvendor_matches_stockpyl_example() -> None:
    level, cost = newsvendor_normal(0.18, 0.70, 50, 8)
    assert round(level, 4) == 56.6040
    assert round(cost, 5) == 1.99761


def test_closed_forms_refuse_bad_input() -> None:
    with pytest.raises(InputError, match="fixed_cost"):
        eoq(0, 0.2, 100)
    with pytest.raises(InputError, match="sd"):
        newsvendor_normal(0.1, 0.5, 10, -1)


def test_gamma_quantile_and_fill_rate_level() -> None:
    demand = LeadTimeDemand(100.0, 20.0)
    # a large mean makes the gamma close to the normal: 95 % ≈ μ + 1.645 σ (a little more: right skew)
    assert 100 + 1.645 * 20 < demand.quantile(0.95) < 100 + 1.8 * 20
    level = demand.level_for_fill_rate(0.99, demand_per_cycle=100.0)
    assert math.isclose(demand.expected_shortage(level), 1.0, rel_tol=1e-4)
    assert LeadTimeDemand(0.0, 0.0).quantile(0.95) == 0.0
    assert safety_stock(0.5, 10.0) == pytest.approx(0.0)


def _forecast(days: int = 14, y: float = 10.0, sd: float = 3.0, corr: float = 0.2) -> pd.DataFrame:
    ds = pd.date_range("2025-01-01", periods=days)
    return pd.DataFrame({"unique_id": ["A"] * days + ["B"] * days, "ds": list(ds) * 2,
                         "y": [y] * days + [y / 10] * days, "y_sd": [sd] * days + [sd / 10] * days,
                         "y_corr": corr})


def test_lead_time_demand_adds_correlated_errors() -> None:
    out = lead_time_demand(_forecast(), {"A": 4, "B": 2}, review_days=3).set_index("unique_id")
    assert out.loc["A", "mean"] == pytest.approx(70.0)
    n, sd, corr = 7, 3.0, 0.2
    assert out.loc["A", "sd"] == pytest.approx(math.sqrt(n * sd ** 2 + corr * ((n * sd) ** 2 - n * sd ** 2)))
    assert out.loc["B", "protection_days"] == 5


def test_plan_orders_when_position_is_at_or_below_reorder_point() -> None:
    stock = pd.DataFrame({"unique_id": ["A", "B"], "on_hand": [5.0, 500.0], "on_order": [0.0, 0.0]})
    plan = inventory_plan(_forecast(), 0.95, 7, review_days=7, ordering_cost=20.0, unit_cost={"A": 4.0, "B": 2.0},
                          unit_price={"A": 10.0}, stock=stock).set_index("unique_id")
    assert plan.loc["A", "order_now"] and not plan.loc["B", "order_now"]
    assert plan.loc["A", "order_qty"] == math.ceil(plan.loc["A", "order_up_to"] - 5.0)
    assert plan.loc["A", "reorder_point"] > plan.loc["A", "lead_time_demand"] == pytest.approx(70.0)
    assert plan.loc["A", "eoq"] == pytest.approx(eoq(20.0, 0.25 * 4.0, 10.0 * 365)[0])
    assert plan.loc["A", "newsvendor_qty"] > 0 and np.isnan(plan.loc["B", "newsvendor_qty"])


def test_higher_service_needs_more_stock_and_fill_rate_target_works() -> None:
    low = inventory_plan(_forecast(), 0.80, 5).set_index("unique_id")
    high = inventory_plan(_forecast(), 0.99, 5).set_index("unique_id")
    assert (high["safety_stock"] > low["safety_stock"]).all()
    fill = inventory_plan(_forecast(), fill_rate=0.98, lead_time_days=5)
    assert (fill["target"] == "fill_rate").all() and (fill["reorder_point"] >= 0).all()


def test_plan_errors_name_the_problem() -> None:
    with pytest.raises(InputError, match=r"0\.95, not 95"):
        inventory_plan(_forecast(), 95, 7)
    with pytest.raises(InputError, match="forecast a longer horizon"):
        inventory_plan(_forecast(days=5), 0.95, 7)
    with pytest.raises(InputError, match="lacks column"):
        inventory_plan(pd.DataFrame({"unique_id": ["A"]}), 0.95, 1)
    with pytest.raises(InputError, match="no lead time for 'B'"):
        inventory_plan(_forecast(), 0.95, {"A": 3})

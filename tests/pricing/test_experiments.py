"""Price tests: the planner's duration gives the promised power when tests are run inside the simulated shop
(its seasons, shocks and noise), and the analysis recovers the true effect of a test price."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from shoplens.errors import InputError, NotFound
from shoplens.pricing import analyze_price_test, plan_price_test
from shoplens.pricing.truth import simulate_price_test

from .conftest import PricingShop

PRICE_CHANGE = 0.05


def test_more_products_and_bigger_changes_need_shorter_tests(pricing_shop: PricingShop) -> None:
    model = pricing_shop.model
    ten = plan_price_test(model, price_change=PRICE_CHANGE)
    three = plan_price_test(model, ten.products[:3], price_change=PRICE_CHANGE)
    bigger = plan_price_test(model, ten.products, price_change=0.15)
    assert ten.days is not None and bigger.days is not None
    assert bigger.days < ten.days and (three.days is None or three.days > ten.days)
    assert ten.power >= 0.8 and (np.diff(ten.power_curve["power"]) >= -1e-12).all()
    schedule = ten.schedule("2026-01-05", seed=1)
    assert len(schedule) == ten.days * len(ten.products)
    counts = schedule.groupby(["product_id", "arm"]).size().unstack()
    assert (counts["control"] == counts["treatment"]).all()  # each pair of blocks holds both arms
    split = plan_price_test(model, ten.products, price_change=0.15, design="split")
    assert split.days is None or split.days > bigger.days  # comparing products is noisier than switching


def test_planned_power_is_achieved_by_tests_run_in_the_simulated_shop(pricing_shop: PricingShop,
                                                                      capsys: pytest.CaptureFixture) -> None:
    model, truth = pricing_shop.model, pricing_shop.truth
    plan = plan_price_test(model, price_change=PRICE_CHANGE)
    current = model.elasticities_.set_index("product_id")["current_price"]
    days = pd.to_datetime(truth.tables["demand"]["day"].unique())
    rng = np.random.default_rng(3)
    significant, effects, reps = 0, [], 40
    for rep in range(reps):
        start = days[rng.integers(0, len(days) - plan.days)]
        schedule = plan.schedule(start, seed=rep)
        sales = simulate_price_test(truth, schedule, PRICE_CHANGE, current, seed=rep)
        result = analyze_price_test(sales, schedule, confidence=0.95)
        significant += result.p_value < plan.alpha and result.effect < 0
        effects.append(result.effect)
    expected = float(np.mean((1 + PRICE_CHANGE) ** truth.elasticity.loc[plan.products] - 1))
    with capsys.disabled():
        print(f"\nprice test: planned {plan.days} days for power {plan.power:.2f}; achieved "
              f"{significant / reps:.2f} over {reps} simulated tests; mean effect {np.mean(effects):+.3f} "
              f"(true {expected:+.3f})")
    assert abs(significant / reps - plan.power) <= 0.2  # 40 tests: ±0.13 is two standard errors
    assert abs(np.mean(effects) - expected) < 0.02


def test_the_analysis_recovers_the_effect_and_the_elasticity(pricing_shop: PricingShop) -> None:
    model, truth = pricing_shop.model, pricing_shop.truth
    products = model.elasticities_.sort_values("units", ascending=False)["product_id"].head(20).tolist()
    plan = plan_price_test(model, products, price_change=0.1, detectable_elasticity=1.0)
    schedule = plan.schedule("2024-03-04", seed=0)
    current = model.elasticities_.set_index("product_id")["current_price"]
    sales = simulate_price_test(truth, schedule, 0.1, current, seed=1)
    costs = truth.tables["products"][["product_id", "cost"]]
    result = analyze_price_test(sales, schedule, costs=costs, confidence=0.9)
    true_elasticity = float(truth.elasticity.loc[products].mean())
    assert result.price_ratio == pytest.approx(1.1, rel=1e-6)
    assert result.elasticity_lower <= true_elasticity <= result.elasticity_upper
    assert result.effect < 0 and result.p_value < 0.05 and result.verdict.startswith("significant")
    assert result.profit_change_per_day is not None and result.days == plan.days


def test_intervals_by_start_and_end_and_bad_assignments(pricing_shop: PricingShop) -> None:
    sales = pd.DataFrame({"product_id": ["A"] * 4, "day": pd.date_range("2024-01-01", periods=4),
                          "units": [10, 12, 8, 7], "revenue": [100.0, 120.0, 88.0, 77.0]})
    by_interval = pd.DataFrame({"product_id": ["A", "A"], "start": ["2024-01-01", "2024-01-03"],
                                "end": ["2024-01-02", "2024-01-04"], "arm": ["control", "treatment"]})
    result = analyze_price_test(sales, by_interval)
    assert result.days == 4 and result.price_ratio == pytest.approx(1.1)
    with pytest.raises(InputError, match="arm"):
        analyze_price_test(sales, by_interval.assign(arm=["control", "b"]))
    with pytest.raises(InputError, match="both arms"):
        analyze_price_test(sales, by_interval.assign(arm="control"))
    with pytest.raises(NotFound, match="unknown product"):
        plan_price_test(pricing_shop.model, ["nope"])
    with pytest.raises(InputError, match="price_change"):
        plan_price_test(pricing_shop.model, price_change=0)

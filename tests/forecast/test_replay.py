"""Inventory policy on the simulator's ground truth: the forecast-driven policy set for 95 % cycle service
realises 95 ± 2 % over at least 1,000 replenishment cycles, with lower holding cost than the naive "N weeks
of average demand" rule at equal or better service. Demand is the simulator's (seasonal, promotional,
noisy, a growing shop), which the forecast has to learn; the naive rule runs on the same days."""

from __future__ import annotations

import pytest

import shoplens as sl
from shoplens.forecast.replay import (
    replay_policy,
    simulator_calendar,
    with_calendar,
    workspace_costs,
    workspace_lead_times,
)
from shoplens.forecast.series import series_from_workspace
from shoplens.forecast.workflow import forecaster_params

# Smaller than the benchmark's shop (benchmarks/forecast.py) and two fast models, so it runs in about a minute.
SHOP = {"n_customers": 8000, "n_products": 50, "days": 300, "seed": 11}
MODELS = ["SeasonalProfile", "LightGBM"]


@pytest.fixture(scope="module")
def replay_shop(tmp_path_factory: pytest.TempPathFactory) -> sl.Workspace:
    from shoplens.data.synth import simulate

    ws = sl.Workspace.init(tmp_path_factory.mktemp("replay_shop") / "ws")
    simulate(**SHOP).write(ws)
    return ws


def test_policy_realises_its_service_level_at_lower_cost(replay_shop: sl.Workspace) -> None:
    series = with_calendar(series_from_workspace(replay_shop), simulator_calendar(replay_shop))
    result = replay_policy(series, service_level=0.95, lead_time_days=workspace_lead_times(replay_shop),
                           unit_cost=workspace_costs(replay_shop),
                           forecaster=forecaster_params(models=MODELS, reconcile=None))
    comparison = result.comparison
    assert comparison["cycles"] >= 1000
    assert 0.93 <= comparison["realised_service_level"] <= 0.97
    assert comparison["naive_weeks"] is not None  # some naive rule reaches our service …
    assert comparison["naive_service_level"] >= comparison["realised_service_level"]
    assert comparison["holding_cost_ratio_vs_naive"] < 1.0  # … and costs more to hold
    ours = result.summary[result.summary["policy"] == "forecast"].iloc[0]
    assert 0 < ours["fill_rate"] <= 1 and ours["stockout_days"] >= 0
    assert set(result.cycles.columns) >= {"unique_id", "review_day", "served"}

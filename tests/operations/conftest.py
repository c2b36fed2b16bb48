"""The shifted shop of the operations tests: a simulated shop whose demand changes on day 240 (volume × 5,
Electronics × 2 more, prices × 1.4), with a forecaster trained on the days before the shift and deployed."""

from __future__ import annotations

import pytest

import shoplens as sl
from shoplens.data.synth import DemandShift, SimulatedShop, simulate

SHIFT = DemandShift(day=240, volume=5.0, departments={"Electronics": 2.0}, price=1.4)
# what the shift moves (drift must raise its alarm on these) and what it leaves alone (no alarm)
SHIFTED_FEATURES = {"price_level", "category_mix", "interactions_per_day"}
STEADY_FEATURES = {"review_length", "language_mix", "star_distribution", "basket_size", "unseen_products",
                   "unseen_customers"}
# the champion's recipe: light enough for tests (one model, one inner window); retraining reuses it
RECIPE = {"models": ["SeasonalProfile"], "cv_windows": 1, "adjust": False}


@pytest.fixture(scope="session")
def shifted_shop() -> SimulatedShop:
    return simulate(n_customers=1_500, n_products=40, days=300, seed=3, review_rate=0.5, demand_shift=SHIFT)


@pytest.fixture(scope="session")
def champion_shop(shifted_shop: SimulatedShop, tmp_path_factory: pytest.TempPathFactory) -> sl.Workspace:
    """The shop's first 240 days with the champion forecaster deployed (read-only: tests copy it)."""
    from shoplens.forecast.workflow import plan, train

    ws = sl.Workspace.init(tmp_path_factory.mktemp("champion_shop") / "ws")
    shifted_shop.period(0, SHIFT.day).write(ws)
    summary = train(ws, "demo", **RECIPE)  # as `shoplens run` deploys it: forecast, pointer, inventory plan
    ws.models.deploy("forecast", summary["version"])
    plan(ws)
    return ws

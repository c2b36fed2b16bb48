"""Drift: the simulator's shifted shop raises the alarm on the shifted features and not on the others."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

import shoplens as sl
from shoplens.data.synth import SimulatedShop
from shoplens.drift import FEATURE_NAMES, Thresholds, check_drift, latest, psi
from shoplens.errors import InputError, NotFound
from tests.conftest import copy_workspace
from tests.operations.conftest import SHIFT, SHIFTED_FEATURES, STEADY_FEATURES


def test_psi_is_zero_for_equal_shares_and_grows_with_the_shift() -> None:
    assert psi([100, 200, 300], [10, 20, 30]) == pytest.approx(0, abs=1e-3)
    small, large = psi([100, 100, 100], [90, 100, 110]), psi([100, 100, 100], [10, 100, 190])
    assert 0 < small < 0.02 < 0.25 < large
    p, q = [0.5, 0.5], [0.2, 0.8]  # the textbook value, counts large enough for the smoothing not to matter
    expected = sum((b - a) * math.log(b / a) for a, b in zip(p, q, strict=True))
    assert psi([500_000, 500_000], [200_000, 800_000]) == pytest.approx(expected, rel=1e-4)
    with pytest.raises(InputError):
        psi([1, 2], [1])
    with pytest.raises(InputError):
        Thresholds(psi_warn=0.3, psi_alarm=0.2)


def test_shifted_shop_raises_the_alarm_on_the_shifted_features_only(
        champion_shop: sl.Workspace, shifted_shop: SimulatedShop, tmp_path: Path) -> None:
    ws = copy_workspace(champion_shop, tmp_path)
    before = check_drift(ws, model="forecast", store=False)
    assert before is not None and before.features == []  # nothing new since the champion was trained
    reports = shifted_shop.period(SHIFT.day).write(ws)
    # at ingest: the order lines' run alone already shows the price and category shift
    lines = reports["order_items"].drift
    assert lines is not None and {"price_level", "category_mix"} <= set(lines["alarms"])
    assert any("drift alarm" in m for m in reports["order_items"].messages)
    assert set(reports["reviews"].drift["alarms"]) == set()

    report = check_drift(ws, model="forecast", trigger="test")
    by_name = {f.feature: f for f in report.features}
    assert set(by_name) == set(FEATURE_NAMES)
    assert set(report.alarms) == SHIFTED_FEATURES
    for name in STEADY_FEATURES:
        assert by_name[name].status in ("ok", "warn"), by_name[name]
        assert by_name[name].n_new >= 100, by_name[name]  # judged on enough rows, not skipped
    assert by_name["price_level"].value > 0.25 and by_name["review_length"].value < 0.1
    with ws.connect() as con:
        stored = latest(con)
    assert {r["feature"] for r in stored} == set(FEATURE_NAMES)
    assert {r["status"] for r in stored if r["feature"] in SHIFTED_FEATURES} == {"alarm"}


def test_no_deployed_model_means_nothing_to_compare(workspace: sl.Workspace, shifted_shop: SimulatedShop) -> None:
    report = workspace.ingest("reviews", shifted_shop.tables["reviews"].head(50), name="reviews")
    assert report.drift is None
    assert check_drift(workspace) is None
    with pytest.raises(NotFound, match="no deployed model"):
        check_drift(workspace, model="forecast")

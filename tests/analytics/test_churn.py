"""Churn: LightGBM on a temporal split against BG/NBD on CDNOW, and the simulator's latent states recovered
by the segments and the churn model better than chance."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pytest

import shoplens as sl
from shoplens.analytics.churn import ChurnModel, auc, calibration_error, features_at
from shoplens.analytics.truth import auc_interval, truth_recovery
from shoplens.errors import InputError


def test_cdnow_churn_beats_p_alive(cdnow_master: sl.Workspace) -> None:
    # the protocol: history to 1997-09-30, churn = no purchase in the following 39 weeks
    model = ChurnModel(horizon_days=273, train_horizon_days=182, n_estimators=150)
    report = model.backtest(cdnow_master, "1997-10-01")
    metrics = report["metrics"]
    assert metrics["customers"] == 23_570 and 0.6 < metrics["churn_rate"] < 0.8
    assert metrics["churn_auc"] > 0.72
    assert metrics["churn_auc"] > metrics["bgnbd_auc"] > 0.7
    # 1 − P(alive) ranks one-time buyers as safest (BG/NBD gives them P(alive) = 1): worse than chance here
    assert metrics["palive_auc"] < 0.5
    assert metrics["churn_ece"] < 0.08 and metrics["churn_brier"] < metrics["palive_brier"]
    assert "1997-10-01" in report["protocol"]


def test_features_use_only_the_history(tiny_shop: sl.Workspace) -> None:
    features = features_at(tiny_shop, dt.date(2024, 2, 1), dt.date(2024, 3, 2)).set_index("customer_id")
    assert sorted(features.index) == ["C1", "C2"]  # customers with a purchase before the cutoff
    assert features.loc["C1", "orders"] == 2 and features.loc["C1", "recency_days"] == 12
    assert bool(features.loc["C2", "churned"]) and not bool(features.loc["C1", "churned"])  # C1 bought on 1 March


def test_metrics_by_hand() -> None:
    assert auc([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8]) == 0.75
    assert auc([0, 1], [0.5, 0.5]) == 0.5
    assert calibration_error([0, 1, 1, 1], [0.05, 0.95, 0.95, 0.95]) == pytest.approx((0.05 + 3 * 0.05) / 4)
    low, high = auc_interval(0.75, 50, 50)
    assert low < 0.75 < high and high - low < 0.25
    with pytest.raises(InputError, match="both classes"):
        auc([1, 1], [0.2, 0.3])


def test_simulator_states_are_recovered_better_than_chance(small_shop: sl.Workspace) -> None:
    result = truth_recovery(small_shop, horizon_days=60)
    metrics = result["metrics"]
    # who had left the active state (lapsing or churned) by the last simulated day, among buyers
    assert 0.05 < metrics["left_share"] < 0.6
    assert metrics["segment_auc_low"] > 0.5, metrics
    assert metrics["churn_auc_low"] > 0.5, metrics
    shares = result["by_segment"]
    assert shares.loc["lost", "active"] < shares.loc["champions", "active"]


def test_churn_model_save_load_and_predict(small_shop: sl.Workspace, tmp_path: Path) -> None:
    model = ChurnModel(horizon_days=60, n_estimators=50).fit(small_shop)
    predictions = model.predict(small_shop)
    assert predictions["churn_probability"].between(0, 1).all() and len(predictions) > 100
    loaded = ChurnModel.load(model.save(tmp_path / "churn"))
    again = loaded.predict(small_shop)
    assert np.allclose(again["churn_probability"], predictions["churn_probability"])
    assert loaded.cutoff_ == model.cutoff_


def test_churn_needs_history(tiny_shop: sl.Workspace) -> None:
    with pytest.raises(InputError, match="cannot train"):
        ChurnModel(horizon_days=365).fit(tiny_shop)

"""The Forecaster on a simulated shop and on the real Bakery data: forecasts, intervals, backtests that
never choose on the windows they score, save/load, and demand at other prices."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import shoplens as sl
from shoplens.errors import InputError, ShoplensError
from shoplens.forecast import Forecaster, demand_at_prices
from shoplens.forecast.ensemble import BaseCache, inner_cutoffs
from shoplens.forecast.forecaster import OURS
from shoplens.forecast.series import series_from_workspace
from tests.conftest import shared_path

FAST = ["SeasonalProfile", "LightGBM"]


def test_predict_is_tidy_with_ordered_nonnegative_intervals(small_shop: sl.Workspace) -> None:
    fc = Forecaster(models=FAST, horizon=14, cv_windows=2).fit(small_shop)
    out = fc.predict()
    ids = series_from_workspace(small_shop).ids
    assert list(out.columns[:3]) == ["unique_id", "ds", "y"] and set(out["unique_id"]) == set(ids)
    assert len(out) == 14 * len(ids)
    assert (out["ds"].min() - small_shop.sql("SELECT max(day) AS d FROM daily_sales")["d"].iloc[0]).days == 1
    assert (out["y"] >= 0).all() and (out["y-lo-95"] >= 0).all()
    assert (out["y-lo-95"] <= out["y-lo-80"]).all() and (out["y-lo-80"] <= out["y-hi-80"]).all()
    assert (out["y-hi-80"] <= out["y-hi-95"]).all()
    longer = fc.predict(20, models=True)
    assert len(longer) == 20 * len(ids) and {"SeasonalNaive", "LightGBM"} <= set(longer.columns)


def test_reconciled_forecasts_are_coherent(small_shop: sl.Workspace) -> None:
    fc = Forecaster(models=FAST, horizon=7, cv_windows=2, reconcile="mint_shrink").fit(small_shop)
    out = fc.predict(include_aggregates=True)
    total = out[out["unique_id"] == "__total__"].set_index("ds")["y"]
    bottom = out[out["unique_id"].isin(fc.series_.ids)].groupby("ds")["y"].sum()
    # coherent before the zero floor; the floor only ever raises a bottom series
    assert np.all(bottom.reindex(total.index).to_numpy() >= total.to_numpy() - 1e-6)
    assert np.allclose(bottom.reindex(total.index), total, rtol=0.05)


def test_too_many_series_to_reconcile_skip_it_with_a_warning(small_shop: sl.Workspace, monkeypatch,
                                                             caplog: pytest.LogCaptureFixture) -> None:
    from shoplens.forecast import forecaster as module

    ids = series_from_workspace(small_shop).ids
    monkeypatch.setattr(module, "RECONCILE_MAX_SERIES", len(ids) - 1)  # the shop's product count, just above
    with caplog.at_level("WARNING", logger="shoplens.forecast"):
        fc = Forecaster(models=FAST, horizon=7, cv_windows=2, reconcile="mint_shrink").fit(small_shop)
    assert fc.combination_.g_matrix is None and f"{len(ids)} series is more than" in caplog.text
    assert set(fc.predict()["unique_id"]) == set(ids)


def test_backtest_chooses_only_on_windows_before_each_origin(small_shop: sl.Workspace) -> None:
    fc = Forecaster(models=FAST, cv_windows=3)
    result = fc.backtest(small_shop, h=7, n_windows=3)
    origins = sorted(result.cv["cutoff"].unique())
    settings = fc.settings_
    for origin in origins:
        for cutoff in inner_cutoffs(settings, origin):
            assert cutoff + pd.Timedelta(days=settings.cv_horizon) <= origin
    summary = result.summary.set_index("model")
    assert {OURS, "SeasonalNaive"} <= set(summary.index)
    assert {"mase", "smape", "rmsse", "wrmsse", "bias", "coverage_80", "coverage_95"} <= set(summary.columns)
    assert 0.5 < summary.loc[OURS, "coverage_95"] <= 1.0
    records = fc.evaluate(small_shop, dataset="simulator_forecast", h=7, n_windows=2)
    assert {r.role for r in records} == {"ours", "baseline"}


def test_a_window_never_sees_its_own_future(small_shop: sl.Workspace) -> None:
    series = series_from_workspace(small_shop)
    settings = Forecaster(models=FAST)._settings()
    cutoff = series.y["ds"].max() - pd.Timedelta(days=14)
    changed = series.y.copy()
    changed.loc[changed["ds"] > cutoff, "y"] *= 10  # a different future must not change the forecast
    first = BaseCache(series.y, settings).window(cutoff, 7)
    second = BaseCache(changed, settings).window(cutoff, 7)
    assert np.allclose(first["SeasonalProfile"], second["SeasonalProfile"])
    assert not np.allclose(first["y"], second["y"])


def test_save_and_load_give_the_same_forecast(small_shop: sl.Workspace, tmp_path: Path) -> None:
    fc = Forecaster(models=FAST, horizon=7, cv_windows=2).fit(small_shop)
    fc.save(tmp_path / "model")
    again = Forecaster.load(tmp_path / "model")
    pd.testing.assert_frame_equal(fc.predict(), again.predict())
    assert again.get_params() == fc.get_params()


def test_bad_parameters_and_unfitted_use_are_clear(small_shop: sl.Workspace) -> None:
    with pytest.raises(InputError, match="unknown model 'Prophecy'"):
        Forecaster(models=["Prophecy"]).fit(small_shop)
    with pytest.raises(InputError, match="weights='best_guess'"):
        Forecaster(weights="best_guess").fit(small_shop)
    with pytest.raises(ShoplensError, match="not fitted"):
        Forecaster().predict()
    with pytest.raises(InputError, match="too little history"):
        Forecaster(models=FAST, cv_windows=40).fit(small_shop)
    with pytest.raises(InputError, match="prices: need columns"):
        Forecaster(models=FAST, horizon=7, cv_windows=2).fit(small_shop).predict(prices=pd.DataFrame({"x": [1]}))


def test_demand_never_rises_with_the_price(small_shop: sl.Workspace) -> None:
    fc = Forecaster(models=FAST, horizon=14, cv_windows=2, reconcile=None).fit(small_shop)
    current = small_shop.sql("SELECT product_id, arg_max(avg_price, day) AS price FROM daily_sales "
                             "GROUP BY product_id")
    dearer = demand_at_prices(small_shop, current.assign(price=current["price"] * 1.5), horizon=14, forecaster=fc)
    cheaper = demand_at_prices(small_shop, current.assign(price=current["price"] * 0.7), horizon=14, forecaster=fc)
    assert set(dearer.columns) >= {"unique_id", "ds", "price", "y_base", "y"} and len(dearer) == 14 * len(current)
    assert (dearer["y"] <= dearer["y_base"] + 1e-9).all() and (cheaper["y"] >= cheaper["y_base"] - 1e-9).all()
    with pytest.raises(InputError, match="no forecast for product"):
        demand_at_prices(small_shop, pd.DataFrame({"product_id": ["nope"], "price": [1.0]}), forecaster=fc)


def test_bakery_pipeline_beats_seasonal_naive() -> None:
    """Real data, small: five best-selling Bakery items, two weekly windows."""
    from shoplens.data.datasets import load_dataset

    path = shared_path("bakery_transactions")
    ws = sl.Workspace.init(Path(pytest.importorskip("tempfile").mkdtemp()) / "bakery", timezone="Europe/London")
    load_dataset("bakery_transactions", ws, path)
    top = ws.sql("SELECT product_id FROM order_items WHERE product_id <> 'NONE' GROUP BY 1 "
                 "ORDER BY count(*) DESC, product_id LIMIT 5")["product_id"].tolist()
    series = series_from_workspace(ws, products=top, fill="global")
    result = Forecaster(models=["AutoETS", "SeasonalProfile", "LightGBM"], point="median",
                        cv_windows=2).backtest(series, h=7, n_windows=2, scale="whole")
    assert result.metric(OURS, "mase") < result.metric("SeasonalNaive", "mase")


def test_median_points_of_counts_are_poisson_quantiles_chosen_before_the_origin(small_shop: sl.Workspace,
                                                                               tmp_path: Path) -> None:
    from shoplens.forecast.ensemble import COUNT_QUANTILES

    mean_fc = Forecaster(models=FAST, horizon=7, cv_windows=3, target="units").fit(small_shop)
    median_fc = Forecaster(models=FAST, horizon=7, cv_windows=3, target="units", point="median").fit(small_shop)
    assert mean_fc.combination_.count_quantile is None
    q = median_fc.combination_.count_quantile
    assert q in COUNT_QUANTILES  # the small shop sells a few units a day: the mean is not the best point
    points = median_fc.predict()["y"].to_numpy()
    assert np.array_equal(points, np.round(points))  # a count's median is a count
    again = Forecaster.load(median_fc.save(tmp_path / "median"))
    assert again.combination_.count_quantile == q
    pd.testing.assert_frame_equal(again.predict(), median_fc.predict())

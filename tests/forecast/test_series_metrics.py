"""Series from daily_sales (levels, frequencies, hierarchy) and the backtest metrics."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import shoplens as sl
from shoplens.errors import InputError
from shoplens.forecast.metrics import per_window, seasonal_scales, summarise
from shoplens.forecast.series import TOTAL_ID, series_from_frame, series_from_workspace


def test_levels_and_frequencies_preserve_units(small_shop: sl.Workspace) -> None:
    total_units = float(small_shop.sql("SELECT sum(units) AS u FROM daily_sales")["u"].iloc[0])
    for level in ("product", "category", "total"):
        for freq in ("D", "W", "M"):
            series = series_from_workspace(small_shop, level=level, freq=freq)
            assert series.y["y"].sum() == pytest.approx(total_units), (level, freq)
            assert not series.y.duplicated(["unique_id", "ds"]).any()
    weekly = series_from_workspace(small_shop, level="total", freq="W")
    assert (weekly.y["ds"].dt.dayofweek == 0).all() and weekly.ids == [TOTAL_ID]


def test_product_hierarchy_sums_to_categories_and_total(small_shop: sl.Workspace) -> None:
    series = series_from_workspace(small_shop)
    summing, nodes = series.summing_matrix()
    assert nodes[0] == TOTAL_ID and summing[0].sum() == len(series.ids)
    assert (summing[len(nodes) - len(series.ids):] == np.eye(len(series.ids))).all()
    everything = series.with_aggregates()
    per_day = everything[everything["unique_id"] == TOTAL_ID].set_index("ds")["y"]
    bottom = series.y.groupby("ds")["y"].sum()
    assert per_day.reindex(bottom.index).equals(bottom)
    assert {"price", "promo"} <= set(series.y.columns)  # exogenous features for the global model


def test_global_fill_starts_every_product_on_the_first_day(small_shop: sl.Workspace) -> None:
    series = series_from_workspace(small_shop, fill="global")
    starts = series.y.groupby("unique_id")["ds"].min()
    assert starts.nunique() == 1 and starts.iloc[0] == series.y["ds"].min()


def test_bad_frames_and_options_are_named() -> None:
    with pytest.raises(InputError, match="lacks column"):
        series_from_frame(pd.DataFrame({"ds": ["2024-01-01"], "y": [1]}))
    with pytest.raises(InputError, match=r"row 1.*'y'"):
        series_from_frame(pd.DataFrame({"unique_id": ["a", "a"], "ds": ["2024-01-01", "2024-01-02"],
                                        "y": [1, "x"]}))
    with pytest.raises(InputError, match="level='region'"):
        from shoplens.forecast.series import build_series

        build_series(pd.DataFrame({"product_id": ["a"], "day": ["2024-01-01"], "units": [1.0]}), level="region")


def test_mase_rmsse_smape_by_hand() -> None:
    days = pd.date_range("2024-01-01", periods=10)
    y = pd.DataFrame({"unique_id": "a", "ds": days, "y": [1, 3, 1, 3, 1, 3, 1, 3, 2, 2.0]})
    cutoff = days[7]
    cv = pd.DataFrame({"unique_id": "a", "ds": days[8:], "cutoff": cutoff, "y": [2.0, 2.0],
                       "good": [2.0, 1.0], "bad": [0.0, 0.0]})
    # in-sample seasonal naive (season 1) up to the cutoff: |diffs| all 2 → MAE scale 2, MSE scale 4
    scales = seasonal_scales(y, 1, [cutoff])
    assert scales["mae_scale"].iloc[0] == 2.0 and scales["mse_scale"].iloc[0] == 4.0
    table = per_window(cv, y, ["good", "bad"], 1).set_index("model")
    assert table.loc["good", "mase"] == pytest.approx(0.25)      # MAE 0.5 / 2
    assert table.loc["good", "rmsse"] == pytest.approx(np.sqrt(0.5 / 4))
    assert table.loc["bad", "smape"] == pytest.approx(2.0)
    assert table.loc["bad", "bias"] == pytest.approx(-1.0)      # forecasts 100 % too low
    summary = summarise(per_window(cv, y, ["good", "bad"], 1), baseline="bad").set_index("model")
    assert summary.loc["good", "mase_gain_vs_snaive"] == pytest.approx(0.75)
    assert summary.loc["good", "share_series_not_worse"] == 1.0

"""Forecast accuracy on rolling-origin backtests: MASE, sMAPE, RMSSE, a WRMSSE-style aggregate,
interval coverage and bias, per series and window and overall.

Scales (MASE, RMSSE) come from the in-sample seasonal naive of each series. ``scale="train"`` uses the
history before each window's cutoff (the strict in-sample definition); ``scale="whole"`` the whole
series (what the Bakery protocol of issue 6 fixes, so our figures compare with its published ones).
"""

from __future__ import annotations

from typing import Literal

import numpy as np
import pandas as pd

Scale = Literal["train", "whole"]
EPS = 1e-12


def seasonal_scales(y: pd.DataFrame, season: int, cutoffs: list[pd.Timestamp] | None = None) -> pd.DataFrame:
    """Per series (and cutoff): mean |y_t − y_{t−m}| and mean (y_t − y_{t−m})² over the history.

    With ``cutoffs`` the history is the data up to each cutoff; without, the whole series. Returns
    ``unique_id, [cutoff,] mae_scale, mse_scale, volume`` (volume: sum of y over the last 28 periods of the
    history, the weight of the WRMSSE-style aggregate).
    """
    rows = []
    ends = cutoffs if cutoffs is not None else [None]
    for cutoff in ends:
        part = y if cutoff is None else y[y["ds"] <= cutoff]
        for uid, values in part.groupby("unique_id", sort=False)["y"]:
            v = values.to_numpy(dtype=float)
            m = season if len(v) > season else 1
            diff = v[m:] - v[:-m] if len(v) > m else np.array([np.nan])
            row = {"unique_id": uid, "mae_scale": float(np.mean(np.abs(diff))),
                   "mse_scale": float(np.mean(diff ** 2)), "volume": float(v[-28:].sum())}
            if cutoff is not None:
                row["cutoff"] = cutoff
            rows.append(row)
    return pd.DataFrame(rows)


def per_window(cv: pd.DataFrame, y: pd.DataFrame, models: list[str], season: int, *, scale: Scale = "train",
               levels: tuple[int, ...] = ()) -> pd.DataFrame:
    """One row per (series, cutoff, model): mase, smape, rmsse, bias, mae, and coverage of each level.

    ``cv`` is a cross-validation frame (``unique_id, ds, cutoff, y`` and one column per model, intervals
    as ``<model>-lo-<level>`` / ``<model>-hi-<level>``).
    """
    cutoffs = sorted(cv["cutoff"].unique())
    if scale == "train":
        scales = seasonal_scales(y, season, cutoffs)
        keys = ["unique_id", "cutoff"]
    else:
        scales = seasonal_scales(y, season)
        keys = ["unique_id"]
    frame = cv.merge(scales, on=keys, how="left")
    out = []
    for model in models:
        err = frame["y"] - frame[model]
        denom = np.abs(frame["y"]) + np.abs(frame[model])
        parts = pd.DataFrame({
            "unique_id": frame["unique_id"], "cutoff": frame["cutoff"],
            "abs": err.abs(), "sq": err ** 2, "err": err, "y": frame["y"],
            "smape": np.where(denom > EPS, 2 * err.abs() / np.maximum(denom, EPS), 0.0),
            "mae_scale": frame["mae_scale"], "mse_scale": frame["mse_scale"], "volume": frame["volume"],
        })
        for level in levels:
            lo, hi = frame.get(f"{model}-lo-{level}"), frame.get(f"{model}-hi-{level}")
            if lo is not None and hi is not None:
                parts[f"coverage_{level}"] = ((frame["y"] >= lo) & (frame["y"] <= hi)).astype(float)
        grouped = parts.groupby(["unique_id", "cutoff"], sort=False)
        agg = grouped.agg(mae=("abs", "mean"), mse=("sq", "mean"), bias=("err", "mean"), smape=("smape", "mean"),
                          err_sum=("err", "sum"), y_sum=("y", "sum"),
                          mean_y=("y", "mean"), mae_scale=("mae_scale", "first"),
                          mse_scale=("mse_scale", "first"), volume=("volume", "first"),
                          **{c: (c, "mean") for c in parts.columns if c.startswith("coverage_")}).reset_index()
        agg["mase"] = agg["mae"] / agg["mae_scale"].where(agg["mae_scale"] > EPS)
        agg["rmsse"] = np.sqrt(agg["mse"] / agg["mse_scale"].where(agg["mse_scale"] > EPS))
        # bias as a fraction of the level: (forecast − actual) / actual; negative = too low
        agg["bias"] = -agg["bias"] / agg["mean_y"].where(agg["mean_y"].abs() > EPS)
        agg["model"] = model
        out.append(agg)
    return pd.concat(out, ignore_index=True)


def summarise(table: pd.DataFrame, baseline: str | None = "SeasonalNaive") -> pd.DataFrame:
    """One row per model: means over series and windows, bias pooled over them ((Σ forecast − Σ actual) /
    Σ actual), a WRMSSE-style aggregate (RMSSE weighted by each series' recent volume), the share of series
    not worse than the baseline (per-series mean MASE) and the MASE gain over the baseline (fraction:
    0.10 = 10 % lower)."""
    rows = []
    base_series = None
    if baseline is not None and baseline in set(table["model"]):
        base_series = table[table["model"] == baseline].groupby("unique_id")["mase"].mean()
    for model, part in table.groupby("model", sort=False):
        weights = part["volume"].clip(lower=0)
        wrmsse = float(np.average(part["rmsse"].fillna(0), weights=weights)) if weights.sum() > 0 else float("nan")
        total = float(part["y_sum"].abs().sum())
        bias = -float(part["err_sum"].sum()) / total if total > EPS else float("nan")  # pooled: stable near zero
        row = {"model": model, "mase": part["mase"].mean(), "smape": part["smape"].mean(),
               "rmsse": part["rmsse"].mean(), "wrmsse": wrmsse, "bias": bias,
               "series": part["unique_id"].nunique(), "windows": part["cutoff"].nunique()}
        for column in part.columns:
            if column.startswith("coverage_"):
                row[column] = part[column].mean()
        if base_series is not None:
            mine = part.groupby("unique_id")["mase"].mean()
            common = mine.index.intersection(base_series.index)
            row["share_series_not_worse"] = float((mine[common] <= base_series[common] + 1e-12).mean())
            base = float(base_series[common].mean())
            row["mase_gain_vs_snaive"] = 1 - row["mase"] / base if base > 0 else float("nan")
        rows.append(row)
    return pd.DataFrame(rows)

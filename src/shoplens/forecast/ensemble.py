"""The pipeline at one forecast origin: base models on rolling windows that end before the origin decide
the ensemble (which models, what weights, per series), reconciliation and the error model; then the
same models forecast from the origin and are combined.

Nothing here looks past the origin: the windows used to choose end at or before it, so a backtest that
calls this once per evaluation origin never chooses on the windows it is scored on.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd

from shoplens.forecast.metrics import seasonal_scales
from shoplens.forecast.models import BASELINE, INTERMITTENT_MODELS, forecast_from
from shoplens.forecast.reconcile import reconcile, reconciliation_matrix
from shoplens.forecast.series import FREQS

Weights = Literal["equal", "inverse_mase", "best"]
WEIGHTS: tuple[str, ...] = ("equal", "inverse_mase", "best")
INTERMITTENT_ADI = 1.32  # average demand interval above which a series counts as intermittent (Syntetos–Boylan)


@dataclass
class Settings:
    """What the pipeline needs at an origin (a Forecaster's parameters)."""

    models: list[str]
    freq: str
    season: int
    cv_horizon: int
    cv_windows: int
    cv_step: int | None = None  # periods between the inner windows' cutoffs (default: cv_horizon)
    weights: str = "equal"
    reconcile: str | None = "mint_shrink"
    intermittent: bool = True
    nonnegative: bool = True
    impute_closures: bool = False
    adjust: bool = True
    lgbm_params: dict[str, Any] = field(default_factory=dict)
    point: str = "mean"  # "median": counts get the median of a Poisson predictive distribution (see below)


@dataclass
class Adjustment:
    """Multiplicative corrections of the ensemble: ``level`` for every period, ``promo`` on top of it for
    periods with a promotion."""

    level: float = 1.0
    promo: float = 1.0

    def is_identity(self) -> bool:
        return self.level == 1.0 and self.promo == 1.0


@dataclass
class Combination:
    """What the windows before an origin decided."""

    weights: pd.DataFrame            # series × model, rows sum to 1
    sigma: pd.Series                 # per series: sd of the ensemble's one-period error
    corr: float                      # correlation of the errors of periods within one window (pooled)
    z_quantiles: dict[float, float]  # empirical quantiles of standardised errors (pooled over series)
    sum_quantiles: dict[float, float]  # the same for the sums over whole windows (for lead-time demand)
    g_matrix: np.ndarray | None      # reconciliation (bottom × nodes) or None
    nodes: list[str]
    retained: list[str]
    inner_mase: dict[str, float]     # per model, mean MASE over the inner windows
    adjustment: Adjustment = field(default_factory=lambda: Adjustment())
    inner_level: pd.Series = field(default_factory=lambda: pd.Series(dtype=float))  # mean forecast per series
    count_quantile: float | None = None  # point = this quantile of Poisson(mean) (median points of counts)

    def to_dict(self) -> dict[str, Any]:
        return {"retained": self.retained, "inner_mase": self.inner_mase, "corr": round(self.corr, 4),
                "adjustment": {"level": round(self.adjustment.level, 4), "promo": round(self.adjustment.promo, 4)}}


def window_cutoffs(origin: pd.Timestamp, n: int, step: int, freq: str, horizon: int | None = None
                   ) -> list[pd.Timestamp]:
    """The ``n`` cutoffs of windows of ``horizon`` periods (default ``step``) that end at or before ``origin``,
    ``step`` periods apart: ``origin − horizon − k·step`` (k = 0..n−1), oldest first."""
    horizon = step if horizon is None else horizon
    offsets = pd.date_range(end=origin, periods=horizon + (n - 1) * step + 1, freq=FREQS[freq])
    return [offsets[-1 - horizon - k * step] for k in range(n - 1, -1, -1)]


def inner_cutoffs(settings: Settings, origin: pd.Timestamp) -> list[pd.Timestamp]:
    """Cutoffs of the windows before ``origin`` that decide the ensemble at ``origin``."""
    return window_cutoffs(origin, settings.cv_windows, settings.cv_step or settings.cv_horizon, settings.freq,
                          settings.cv_horizon)


class BaseCache:
    """Base-model forecasts per cutoff, computed once (a backtest's origins share their inner windows)."""

    def __init__(self, y: pd.DataFrame, settings: Settings, on_window: Callable[[], None] | None = None) -> None:
        self.y = y
        self.settings = settings
        self.on_window = on_window
        self._cache: dict[tuple[pd.Timestamp, int], pd.DataFrame] = {}

    def models(self) -> list[str]:
        extra = [BASELINE] + (list(INTERMITTENT_MODELS) if self.settings.intermittent else [])
        return list(dict.fromkeys(self.settings.models + extra))

    def window(self, cutoff: pd.Timestamp, h: int, future_exog: pd.DataFrame | None = None) -> pd.DataFrame:
        """Forecasts of every model from ``cutoff`` (``unique_id, ds, <models>`` [+ ``y`` when known])."""
        key = (cutoff, h)
        if key not in self._cache:
            train = self.y[self.y["ds"] <= cutoff]
            if self.settings.impute_closures:
                train = impute_closures(train, self.settings.season)
            test = self.y[(self.y["ds"] > cutoff)]
            test = test[test["ds"] <= pd.date_range(cutoff, periods=h + 1, freq=FREQS[self.settings.freq])[-1]]
            exog = future_exog if future_exog is not None else (test if len(test) else None)
            fc = forecast_from(train, h, self.models(), freq=self.settings.freq, future_exog=exog,
                               nonnegative=self.settings.nonnegative, lgbm_params=self.settings.lgbm_params,
                               season=self.settings.season)
            if exog is not None and "promo" in exog.columns:
                flags = exog[["unique_id", "ds", "promo"]].rename(columns={"promo": "promo_flag"})
                fc = fc.merge(flags, on=["unique_id", "ds"], how="left")
            fc["promo_flag"] = (fc["promo_flag"].fillna(0.0) > 0).astype(float) if "promo_flag" in fc else 0.0
            if len(test):
                fc = fc.merge(test[["unique_id", "ds", "y"]], on=["unique_id", "ds"], how="inner")
            fc["cutoff"] = cutoff
            self._cache[key] = fc
            if self.on_window:
                self.on_window()
        return self._cache[key]


def closed_periods(y: pd.DataFrame) -> pd.DatetimeIndex:
    """Periods inside the history on which no series sold anything: the shop was closed (or its data are
    missing), which is not zero demand."""
    totals = y.groupby("ds")["y"].sum()
    inside = totals.iloc[1:-1] if len(totals) > 2 else totals.iloc[0:0]
    return pd.DatetimeIndex(inside.index[inside <= 0])


def impute_closures(train: pd.DataFrame, season: int) -> pd.DataFrame:
    """Closed periods replaced by the same series' value one season earlier (two when that one was closed
    too), so models learn demand rather than the closure."""
    closed = closed_periods(train)
    if closed.empty:
        return train
    wide = train.pivot(index="ds", columns="unique_id", values="y")
    positions = wide.index.get_indexer(closed)
    for pos in positions:
        for back in (season, 2 * season, 3 * season):
            if pos - back >= 0 and wide.index[pos - back] not in closed:
                wide.iloc[pos] = wide.iloc[pos - back].to_numpy()
                break
    filled = wide.stack().rename("y_filled").reset_index()
    out = train.merge(filled, on=["ds", "unique_id"], how="left")
    out["y"] = out["y_filled"].fillna(out["y"])
    return out.drop(columns="y_filled")


def intermittent_ids(y: pd.DataFrame, origin: pd.Timestamp) -> set[str]:
    """Series whose average interval between non-zero periods (since their first sale) exceeds 1.32."""
    part = y[(y["ds"] <= origin)]
    out = set()
    for uid, values in part.groupby("unique_id", sort=False)["y"]:
        v = values.to_numpy()
        nonzero = np.flatnonzero(v > 0)
        if len(nonzero) == 0 or (len(v) - nonzero[0]) / len(nonzero) > INTERMITTENT_ADI:
            out.add(uid)
    return out


def decide(cache: BaseCache, origin: pd.Timestamp, summing: np.ndarray | None, nodes: list[str]) -> Combination:
    """Weights, reconciliation and error model from the windows that end at or before ``origin``."""
    s = cache.settings
    cutoffs = inner_cutoffs(s, origin)
    inner = pd.concat([cache.window(c, s.cv_horizon) for c in cutoffs], ignore_index=True)
    scales = seasonal_scales(cache.y, s.season, cutoffs)[["unique_id", "cutoff", "mae_scale"]]
    inner = inner.merge(scales, on=["unique_id", "cutoff"], how="left")
    inner["mae_scale"] = inner["mae_scale"].where(inner["mae_scale"] > 0)
    ids = list(pd.unique(cache.y["unique_id"]))
    mase = {m: _mase_by_series(inner, m) for m in cache.models()}
    overall = {m: float(v.mean()) for m, v in mase.items()}
    retained = [m for m in s.models if not overall[m] > overall[BASELINE]] or [min(s.models, key=overall.get)]
    weights = _weights(mase, retained, ids, s.weights)
    if s.intermittent:
        weights = _intermittent_choice(weights, inner, mase, cache.y, origin)
    combined = _combine_frame(inner, weights)
    g_matrix = None
    if summing is not None and s.reconcile:
        errors = _error_matrix(combined, nodes)
        g_matrix = reconciliation_matrix(summing, s.reconcile, errors)  # type: ignore[arg-type]
        combined = _reconciled(combined, summing, g_matrix, nodes)
    adjustment = _adjustment(combined) if s.adjust else Adjustment()
    combined = _adjusted(combined, adjustment)
    errors = _error_model(combined, s.cv_horizon)
    count_quantile = _count_quantile(combined) if s.point == "median" else None
    return Combination(weights=weights, sigma=errors.sigma, corr=errors.corr, z_quantiles=errors.z_quantiles,
                       sum_quantiles=errors.sum_quantiles, g_matrix=g_matrix,
                       inner_level=combined.groupby("unique_id")["y_hat"].mean(),
                       nodes=nodes, retained=retained, inner_mase={m: round(v, 4) for m, v in overall.items()},
                       adjustment=adjustment, count_quantile=count_quantile)


# Quantile levels tried for the point forecast of counts. The absolute error of a count forecast is smallest at
# the median of its distribution, which for small means is an integer well below the mean (Poisson(0.6) has
# median 0); the level is chosen on the inner windows because the spread of real counts exceeds Poisson's.
COUNT_QUANTILES = (0.35, 0.4, 0.45, 0.5, 0.55)


def _count_quantile(combined: pd.DataFrame) -> float | None:
    """The level of :data:`COUNT_QUANTILES` whose Poisson quantiles of the inner windows' mean forecasts have
    the lowest MASE there, or ``None`` when the data are not counts (or no level beats the mean itself)."""
    from scipy import stats

    y = combined["y"].to_numpy(dtype=float)
    if len(y) == 0 or (y < 0).any() or not np.array_equal(y, np.round(y)) or "mae_scale" not in combined:
        return None
    mean = combined["y_hat"].clip(lower=0).to_numpy(dtype=float)
    scale = combined["mae_scale"].to_numpy(dtype=float)
    usable = np.isfinite(scale) & (scale > 0)

    def mase(point: np.ndarray) -> float:
        return float(np.mean(np.abs(y - point)[usable] / scale[usable])) if usable.any() else float("inf")

    scores = {q: mase(stats.poisson.ppf(q, mean)) for q in COUNT_QUANTILES}
    best = min(scores, key=scores.get)
    return best if scores[best] < mase(mean) else None


MIN_PROMO_ROWS = 30
FACTOR_RANGE = (0.5, 3.0)


def _adjustment(combined: pd.DataFrame) -> Adjustment:
    """Multiplicative corrections of the ensemble learned on the inner windows, pooled over series: one for
    periods without a promotion (the ensemble's bias, e.g. lagging a growing shop) and one more for periods
    with one (statistical models do not know that a promotion is coming; the shop does). Per-series factors
    were tried and dropped: fitted on a few windows they shrink the errors the service level relies on."""
    promo = combined["promo_flag"].to_numpy() > 0 if "promo_flag" in combined else np.zeros(len(combined), bool)
    normal, promo_rows = combined[~promo], combined[promo]
    level = _ratio(float(normal["y"].sum()), float(normal["y_hat"].sum()))
    promo_factor = (_ratio(float(promo_rows["y"].sum()), float(promo_rows["y_hat"].sum())) / level
                    if len(promo_rows) >= MIN_PROMO_ROWS else 1.0)
    return Adjustment(level=level, promo=promo_factor)


def _ratio(actual: float, forecast: float) -> float:
    return float(np.clip(actual / forecast, *FACTOR_RANGE)) if forecast > 0 and actual > 0 else 1.0


def _adjusted(frame: pd.DataFrame, adjustment: Adjustment) -> pd.DataFrame:
    if adjustment.is_identity():
        return frame
    promo = frame["promo_flag"].to_numpy() > 0 if "promo_flag" in frame else np.zeros(len(frame), dtype=bool)
    out = frame.copy()
    out["y_hat"] = out["y_hat"] * adjustment.level * np.where(promo, adjustment.promo, 1.0)
    return out


def _mase_by_series(inner: pd.DataFrame, model: str) -> pd.Series:
    err = (inner["y"] - inner[model]).abs() / inner["mae_scale"]
    return err.groupby([inner["unique_id"], inner["cutoff"]]).mean().groupby(level=0).mean()


def _weights(mase: dict[str, pd.Series], retained: list[str], ids: list[str], how: str) -> pd.DataFrame:
    table = pd.DataFrame({m: mase[m] for m in retained}).reindex(ids)
    if how == "equal" or table.empty:
        w = pd.DataFrame(1.0, index=ids, columns=retained)
    elif how == "inverse_mase":
        w = 1.0 / table.clip(lower=1e-6)
        w = w.fillna(w.mean()).fillna(1.0)
    else:  # best: the model with the lowest inner MASE per series
        best = table.fillna(table.mean()).idxmin(axis=1)
        w = pd.DataFrame(0.0, index=ids, columns=retained)
        for uid, model in best.items():
            w.loc[uid, model if isinstance(model, str) else retained[0]] = 1.0
    return w.div(w.sum(axis=1), axis=0)


def _intermittent_choice(weights: pd.DataFrame, inner: pd.DataFrame, mase: dict[str, pd.Series],
                         y: pd.DataFrame, origin: pd.Timestamp) -> pd.DataFrame:
    """For intermittent series, use the mean of CrostonSBA/ADIDA/IMAPA where it beat the ensemble on the
    inner windows."""
    candidates = intermittent_ids(y, origin) & set(weights.index)
    if not candidates:
        return weights
    weights = weights.reindex(columns=list(dict.fromkeys([*weights.columns, *INTERMITTENT_MODELS])),
                              fill_value=0.0)
    combined = _combine_frame(inner[inner["unique_id"].isin(candidates)], weights)
    ens = _mase_by_series(combined, "y_hat")
    intermittent = pd.concat([mase[m] for m in INTERMITTENT_MODELS], axis=1).mean(axis=1)
    for uid in candidates:
        if uid in intermittent.index and uid in ens.index and intermittent[uid] < ens[uid]:
            weights.loc[uid] = 0.0
            weights.loc[uid, list(INTERMITTENT_MODELS)] = 1.0 / len(INTERMITTENT_MODELS)
    return weights


def _combine_frame(frame: pd.DataFrame, weights: pd.DataFrame) -> pd.DataFrame:
    """``frame`` with ``y_hat`` = per-series weighted mean of the model columns."""
    w = weights.reindex(frame["unique_id"]).fillna(0.0)
    values = frame[list(weights.columns)].to_numpy(dtype=float)
    out = frame.copy()
    out["y_hat"] = np.nansum(values * w.to_numpy(), axis=1)
    return out


def _error_matrix(combined: pd.DataFrame, nodes: list[str]) -> np.ndarray:
    errors = combined.assign(e=combined["y"] - combined["y_hat"]).pivot_table(
        index=["cutoff", "ds"], columns="unique_id", values="e")
    return errors.reindex(columns=nodes).fillna(0.0).to_numpy()


def _reconciled(frame: pd.DataFrame, summing: np.ndarray, g_matrix: np.ndarray, nodes: list[str]) -> pd.DataFrame:
    index = ["cutoff", "ds"] if "cutoff" in frame else ["ds"]
    wide = frame.pivot_table(index=index, columns="unique_id", values="y_hat").reindex(columns=nodes).fillna(0.0)
    coherent = reconcile(wide.to_numpy(), summing, g_matrix)
    long = pd.DataFrame(coherent, index=wide.index, columns=pd.Index(nodes, name="unique_id")).stack()
    long = long.rename("y_hat").reset_index()
    return frame.drop(columns="y_hat").merge(long, on=[*index, "unique_id"], how="left")


LEVEL_QUANTILES = (0.005, 0.01, 0.025, 0.05, 0.1, 0.2, 0.25, 0.5, 0.75, 0.8, 0.9, 0.95, 0.975, 0.99, 0.995)


def _error_model(combined: pd.DataFrame, h: int) -> ErrorModel:
    """Per-series error sd, the pooled within-window error correlation, and pooled quantiles of the
    standardised errors of single periods and of whole windows (split conformal on rolling-origin errors)."""
    e = combined["y"] - combined["y_hat"]
    sigma = np.sqrt((e ** 2).groupby(combined["unique_id"]).mean())
    floor = max(float(sigma[sigma > 0].median()) * 0.05, 1e-6) if (sigma > 0).any() else 1e-6
    sigma = sigma.clip(lower=floor)
    z = e / combined["unique_id"].map(sigma)
    quantiles = {q: float(np.quantile(z, q)) for q in LEVEL_QUANTILES}
    sums = e.groupby([combined["unique_id"], combined["cutoff"]]).agg(["sum", "size"]).reset_index()
    own = sums["unique_id"].map(sigma)
    ratio = float((sums["sum"] ** 2 / (sums["size"] * own ** 2)).mean()) if len(sums) else 1.0
    corr = float(np.clip((ratio - 1) / max(h - 1, 1), 0.0, 0.95))
    window_sd = own * np.sqrt(sums["size"] * (1 + (sums["size"] - 1) * corr))
    z_sum = sums["sum"] / window_sd
    sum_quantiles = {q: float(np.quantile(z_sum, q)) for q in SUM_QUANTILES} if len(z_sum) >= 20 else {}
    return ErrorModel(sigma, corr, quantiles, sum_quantiles)


@dataclass
class ErrorModel:
    sigma: pd.Series
    corr: float
    z_quantiles: dict[float, float]
    sum_quantiles: dict[float, float]


SUM_QUANTILES = (0.5, 0.6, 0.7, 0.75, 0.8, 0.85, 0.9, 0.925, 0.95, 0.96, 0.97, 0.975, 0.98, 0.99, 0.995, 0.999)


def combine(base: pd.DataFrame, comb: Combination, summing: np.ndarray | None,
            levels: Sequence[int] = (80, 95), nonnegative: bool = True) -> pd.DataFrame:
    """Point forecast, error sd and intervals of every node from base forecasts at one origin.

    Three stages, which ``shoplens.forecast.spark`` runs apart on Spark: the weighted mean of the base models
    (per row), the reconciliation (per period, over all nodes) and :func:`finish` (per series)."""
    out = _combine_frame(base, comb.weights)
    if comb.g_matrix is not None and summing is not None:
        out = _reconciled(out, summing, comb.g_matrix, comb.nodes)
    return finish(out, base, comb, levels, nonnegative)


def finish(out: pd.DataFrame, base: pd.DataFrame, comb: Combination, levels: Sequence[int] = (80, 95),
           nonnegative: bool = True) -> pd.DataFrame:
    """The combined (and reconciled) points ``y_hat`` of ``out`` adjusted, with their error sd and intervals; each
    series needs only its own rows (all of its periods: the error sd grows with the series' mean level)."""
    out = _adjusted(out, comb.adjustment)
    if nonnegative:
        out["y_hat"] = out["y_hat"].clip(lower=0)
    sd = out["unique_id"].map(comb.sigma).fillna(float(comb.sigma.median()) if len(comb.sigma) else 0.0)
    sd = sd * _level_growth(out, comb.inner_level)
    result = pd.DataFrame({"unique_id": out["unique_id"], "ds": out["ds"], "y": out["y_hat"], "y_sd": sd,
                           "y_corr": comb.corr})
    for level in levels:
        lo_q, hi_q = _level_quantiles(comb.z_quantiles, level)
        lo = result["y"] + sd * lo_q
        result[f"y-lo-{level}"] = lo.clip(lower=0) if nonnegative else lo
        result[f"y-hi-{level}"] = result["y"] + sd * hi_q
    if comb.count_quantile is not None:
        from scipy import stats

        result["y"] = stats.poisson.ppf(comb.count_quantile, result["y"].clip(lower=0).to_numpy())
    if "cutoff" in out:
        result.insert(2, "cutoff", out["cutoff"])
    if "y" in base.columns:
        result = result.merge(base[["unique_id", "ds", "y"]].rename(columns={"y": "actual"}),
                              on=["unique_id", "ds"], how="left")
    result.attrs["sum_quantiles"] = dict(comb.sum_quantiles)
    return result


def _level_growth(out: pd.DataFrame, inner_level: pd.Series) -> np.ndarray:
    """Errors grow with the level of demand (about as its square root, as for counts): the error sd measured
    on the windows before the origin is scaled by √(forecast level / level then)."""
    if inner_level.empty:
        return np.ones(len(out))
    level = out.groupby("unique_id")["y_hat"].transform("mean")
    before = out["unique_id"].map(inner_level)
    ratio = (level / before).where((before > 0) & (level > 0), 1.0).fillna(1.0)
    return np.sqrt(ratio.clip(0.25, 9.0)).to_numpy()


def _level_quantiles(quantiles: dict[float, float], level: int) -> tuple[float, float]:
    alpha = (1 - level / 100) / 2
    qs = np.array(sorted(quantiles))
    vals = np.array([quantiles[q] for q in qs])
    return float(np.interp(alpha, qs, vals)), float(np.interp(1 - alpha, qs, vals))

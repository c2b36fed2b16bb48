"""``Forecaster``: demand forecasts with intervals, chosen and checked by rolling-origin backtests.

```python
from shoplens.forecast import Forecaster
fc = Forecaster(level="product", freq="D").fit(ws)
demand = fc.predict(horizon=28)          # unique_id, ds, y, y_sd, y_corr, y-lo-80, y-hi-80, y-lo-95, y-hi-95
result = fc.backtest(h=7, n_windows=8)   # MASE, sMAPE, RMSSE, WRMSSE, coverage, bias beside SeasonalNaive
```
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np
import pandas as pd

from shoplens.base import Estimator, json_safe
from shoplens.errors import InputError, NotFound, ShoplensError
from shoplens.forecast.ensemble import (
    WEIGHTS,
    Adjustment,
    BaseCache,
    Combination,
    Settings,
    combine,
    decide,
    inner_cutoffs,
    window_cutoffs,
)
from shoplens.forecast.metrics import Scale, per_window, summarise
from shoplens.forecast.models import BASELINE, DEFAULT_MODELS, canonical_models, min_history
from shoplens.forecast.reconcile import METHODS
from shoplens.forecast.series import FREQS, SEASON, SeriesSet, check_choice, series_from_frame, series_from_workspace
from shoplens.progress import progress_bar

if TYPE_CHECKING:
    from shoplens.evaluation import BenchmarkRecord, Protocol

OURS = "shoplens"
# LightGBM's loss for each kind of point forecast: the mean (sums, stock, revenue) or the median (what
# absolute-error metrics such as MASE reward)
POINT_OBJECTIVES = {"mean": "l2", "median": "l1"}
FORMAT_VERSION = 1
# Above this many series reconciliation is skipped (with a warning): MinT's dense matrices grow with the square of
# the node count (10,000 products: ~2.4 GB each, and a pseudo-inverse of cubic cost).
RECONCILE_MAX_SERIES = 3000


class InsufficientHistory(InputError):
    """The series are too short for the requested backtest or ensemble choice."""


@dataclass
class BacktestResult:
    """A rolling-origin backtest: the forecasts, metrics per series and window, and a summary per model."""

    cv: pd.DataFrame
    table: pd.DataFrame
    summary: pd.DataFrame
    h: int
    n_windows: int
    step_size: int
    scale: str
    seconds: float

    def metric(self, model: str, name: str) -> float:
        row = self.summary[self.summary["model"] == model]
        if row.empty:
            raise NotFound(f"no model {model!r} in the backtest; models are {', '.join(self.summary['model'])}")
        return float(row.iloc[0][name])

    def to_dict(self) -> dict[str, Any]:
        return {"h": self.h, "n_windows": self.n_windows, "step_size": self.step_size, "scale": self.scale,
                "seconds": round(self.seconds, 2),
                "summary": json.loads(self.summary.to_json(orient="records"))}


@dataclass(eq=False, repr=False)
class Forecaster(Estimator):
    """Forecasts of demand per product, category or in total, by day, week or month.

    Parameters
    ----------
    models: base models combined (default ``DEFAULT_MODELS``); ``SeasonalNaive`` always runs beside them.
    level: ``product``, ``category`` or ``total``.  freq: ``D``, ``W`` or ``M``.  target: ``units`` or ``revenue``.
    horizon: periods forecast at ``fit`` (``predict`` may ask for more; it then forecasts again).
    weights: ``equal`` (default), ``inverse_mase`` or ``best`` per series, over the models whose MASE on the
        windows before the origin is not worse than SeasonalNaive's.
    reconcile: ``mint_shrink`` (default), ``bottom_up``, ``ols`` or None (product → category → total).
    cv_windows, cv_horizon, cv_step: the rolling windows before each origin (how many, how long, how far
        apart; default one week apart at days) that decide weights and the error model.
    intermittent: for intermittent series, use CrostonSBA/ADIDA/IMAPA where they beat the ensemble.
    point: ``mean`` (default: what sums, stock levels and revenue need) or ``median`` (what absolute-error
        metrics such as MASE reward); sets the loss of the LightGBM model.
    adjust: scale the ensemble by two factors learned on the windows before the origin (pooled over series):
        one for periods with a promotion, one for the others (the ensemble's bias). Off by default: it costs
        accuracy on the Bakery development windows; inventory planning turns it on (it removes the bias that
        would otherwise lower the service level of a growing shop).
    fill: ``first_sale`` (a product's series starts at its first sale) or ``global`` (every day of the range).
    levels: interval levels in percent.  products: forecast only these products.
    """

    registry_name: ClassVar[str] = "forecast"
    capability: ClassVar[str] = "forecast"

    models: Sequence[str] | None = None
    level: str = "product"
    freq: str = "D"
    target: str = "units"
    horizon: int = 28
    weights: str = "equal"
    reconcile: str | None = "mint_shrink"
    cv_windows: int = 4
    cv_horizon: int | None = None
    cv_step: int | None = None
    intermittent: bool = True
    adjust: bool = False
    point: str = "mean"
    fill: str = "first_sale"
    levels: Sequence[int] = (80, 95)
    products: Sequence[str] | None = None
    lgbm_params: dict[str, Any] | None = None
    progress: bool = False

    def _settings(self) -> Settings:
        check_choice("freq", self.freq, tuple(FREQS))
        check_choice("weights", self.weights, WEIGHTS)
        check_choice("point", self.point, tuple(POINT_OBJECTIVES))
        if self.reconcile is not None:
            check_choice("reconcile", self.reconcile, METHODS)
        if self.horizon < 1:
            raise InputError(f"horizon={self.horizon}: forecast at least one period")
        if self.cv_windows < 1:
            raise InputError(f"cv_windows={self.cv_windows}: need at least one window to choose the ensemble")
        if any(not 0 < int(level) < 100 for level in self.levels):
            raise InputError(f"levels={list(self.levels)}: interval levels are percents between 0 and 100")
        season = SEASON[self.freq]
        cv_horizon = self.cv_horizon or {"D": 7, "W": 4, "M": 3}[self.freq]
        if cv_horizon < 1 or (self.cv_step is not None and self.cv_step < 1):
            raise InputError(f"cv_horizon={self.cv_horizon}, cv_step={self.cv_step}: whole periods ≥ 1")
        return Settings(models=canonical_models(self.models or DEFAULT_MODELS), freq=self.freq, season=season,
                        cv_horizon=cv_horizon, cv_step=self.cv_step,
                        cv_windows=self.cv_windows, weights=self.weights, reconcile=self.reconcile,
                        intermittent=self.intermittent, adjust=self.adjust, point=self.point,
                        lgbm_params={"objective": POINT_OBJECTIVES[self.point], **(self.lgbm_params or {})})

    def _objective_for_counts(self, settings: Settings, y_all: pd.DataFrame) -> None:
        """Median points of counts come from the Poisson quantile of the ensemble's mean (ensemble.py), so
        LightGBM then forecasts the mean like the other models; an objective the user set is kept."""
        if settings.point != "median" or "objective" in (self.lgbm_params or {}):
            return
        y = y_all["y"].to_numpy(dtype=float)
        if len(y) and (y >= 0).all() and np.array_equal(y, np.round(y)):
            settings.lgbm_params["objective"] = POINT_OBJECTIVES["mean"]

    def _series(self, data: Any) -> SeriesSet:
        from shoplens.workspace import Workspace

        if isinstance(data, SeriesSet):
            return data
        if isinstance(data, Workspace):
            return series_from_workspace(data, level=self.level, freq=self.freq, target=self.target,  # type: ignore[arg-type]
                                         fill=self.fill, products=self.products)  # type: ignore[arg-type]
        if isinstance(data, pd.DataFrame):
            return series_from_frame(data, freq=self.freq)  # type: ignore[arg-type]
        raise InputError(f"fit() takes a Workspace, a SeriesSet or a frame with unique_id, ds, y; got "
                         f"{type(data).__name__}")

    # -- fitting and forecasting ----------------------------------------------------------------------------
    def fit(self, data: Any) -> Forecaster:
        """Choose the ensemble on the windows before the end of the data, then forecast ``horizon`` periods."""
        settings = self._settings()
        series = self._series(data)
        y_all, summing, nodes = _prepared(series, settings)
        self._objective_for_counts(settings, y_all)
        origin = y_all["ds"].max()
        _season_for_history(y_all, origin, settings)
        _check_history(y_all, origin, settings)
        total = settings.cv_windows + 1
        with progress_bar("forecast: fitting models", total, enabled=self.progress, unit="windows") as bar:
            cache = BaseCache(y_all, settings, on_window=bar.advance)
            combination = decide(cache, origin, summing, nodes)
            base = cache.window(origin, self.horizon)
        self.settings_, self.series_, self.y_all_, self.summing_, self.nodes_ = settings, series, y_all, summing, nodes
        self.combination_: Combination = combination
        self.base_ = base
        self.origin_ = origin
        self.forecast_ = combine(base, combination, summing, self.levels, settings.nonnegative)
        return self

    def _check_fitted(self) -> None:
        if not hasattr(self, "forecast_"):
            raise ShoplensError("this Forecaster is not fitted yet: call fit(ws) first")

    def predict(self, horizon: int | None = None, *, prices: pd.DataFrame | None = None,
                include_aggregates: bool = False, models: bool = False) -> pd.DataFrame:
        """Tidy forecasts: ``unique_id, ds, y, y_sd, y_corr, y-lo-<level>, y-hi-<level>`` per period.

        ``prices``: ``unique_id, ds, price`` [, ``promo``] for the forecast periods; the forecast is then
        redone with them (LightGBM reads price and promotion; the other models do not). ``models=True``
        adds each base model's forecast.
        """
        self._check_fitted()
        h = horizon or self.horizon
        if h < 1:
            raise InputError(f"horizon={h}: forecast at least one period")
        if h <= self.horizon and prices is None:
            base, out = self.base_, self.forecast_
        else:
            base = self.base_forecasts(h, prices)
            out = combine(base, self.combination_, self.summing_, self.levels, self.settings_.nonnegative)
        keep = out["ds"] <= self.last_period(h)
        if not include_aggregates:
            keep &= out["unique_id"].isin(self.series_.ids)
        result = out[keep].drop(columns=[c for c in ("actual", "cutoff") if c in out]).reset_index(drop=True)
        if models:
            cols = [c for c in base.columns if c not in ("unique_id", "ds", "y", "cutoff", "promo_flag")]
            result = result.merge(base[["unique_id", "ds", *cols]], on=["unique_id", "ds"], how="left")
        result.attrs["sum_quantiles"] = dict(self.combination_.sum_quantiles)
        return result

    def base_forecasts(self, h: int, prices: pd.DataFrame | None = None) -> pd.DataFrame:
        """The base models' forecasts of every node from the origin: the fitted ones when they cover ``h``
        periods (and no prices are given), else the models run again from the origin (all series at once: the
        global LightGBM and the pooled seasonal profile read them all)."""
        self._check_fitted()
        if h <= self.horizon and prices is None:
            return self.base_
        cache = BaseCache(self.y_all_, self.settings_)
        return cache.window(self.origin_, h, future_exog=_price_frame(prices, self.nodes_))

    def last_period(self, h: int) -> pd.Timestamp:
        """The last period of an ``h``-period forecast from the origin."""
        return pd.date_range(self.origin_, periods=h + 1, freq=FREQS[self.freq])[-1]

    # -- backtesting -----------------------------------------------------------------------------------------
    def cross_validation(self, data: Any, h: int = 7, n_windows: int = 8, step_size: int | None = None,
                         extra_models: Sequence[str] = ()) -> pd.DataFrame:
        """Rolling-origin forecasts of the whole pipeline: at each origin the ensemble is chosen on windows
        that end at or before it, then forecasts ``h`` periods. Columns: ``unique_id, ds, cutoff, y`` (actual),
        ``shoplens`` (ours) with ``shoplens-lo/hi-<level>``, and every base model (SeasonalNaive among them)."""
        settings = self._settings()
        if extra_models:
            settings.models = list(dict.fromkeys(settings.models + canonical_models(extra_models)))
        series = self._series(data)
        y_all, summing, nodes = _prepared(series, settings)
        self._objective_for_counts(settings, y_all)
        step = step_size or h
        origins = window_cutoffs(y_all["ds"].max(), n_windows, step, self.freq)
        origins = [o for o in origins]  # evaluation origins: the last n_windows windows of length h
        if h > step:
            raise InputError(f"h={h} is longer than step_size={step}: windows would overlap")
        _season_for_history(y_all, origins[0], settings)
        _check_history(y_all, origins[0], settings)
        frames = []
        extra = set(inner_cutoffs(settings, origins[0]))
        total = len(set(origins) | extra) + n_windows * settings.cv_windows
        with progress_bar("forecast: backtest", total, enabled=self.progress, unit="windows") as bar:
            cache = BaseCache(y_all, settings, on_window=bar.advance)
            for origin in origins:
                combination = decide(cache, origin, summing, nodes)
                base = cache.window(origin, h)
                ours = combine(base, combination, summing, self.levels, settings.nonnegative)
                ours = ours.drop(columns=["actual", "y_corr", "cutoff"], errors="ignore").rename(columns=_ours_name)
                merged = base.merge(ours, on=["unique_id", "ds"], how="left")
                frames.append(merged)
        cv = pd.concat(frames, ignore_index=True)
        cv = cv[cv["unique_id"].isin(series.ids)]
        first = ["unique_id", "ds", "cutoff", "y", OURS]
        cv = cv[first + [c for c in cv.columns if c not in first]].sort_values(["unique_id", "cutoff", "ds"])
        self.settings_ = settings
        return cv.reset_index(drop=True)

    def backtest(self, data: Any, h: int = 7, n_windows: int = 8, step_size: int | None = None,
                 scale: Scale = "train", extra_models: Sequence[str] = ()) -> BacktestResult:
        """:meth:`cross_validation` scored: MASE, sMAPE, RMSSE, WRMSSE-style, interval coverage and bias per
        model, ours first, SeasonalNaive beside it."""
        import time

        check_choice("scale", scale, ("train", "whole"))
        started = time.perf_counter()
        series = self._series(data)
        cv = self.cross_validation(series, h=h, n_windows=n_windows, step_size=step_size, extra_models=extra_models)
        seconds = time.perf_counter() - started
        models = [OURS] + [m for m in self.settings_.models if m != OURS] + [BASELINE]
        models = list(dict.fromkeys(m for m in models if m in cv.columns))
        table = per_window(cv, series.y, models, self.settings_.season, scale=scale, levels=tuple(self.levels))
        summary = summarise(table, baseline=BASELINE)
        return BacktestResult(cv=cv, table=table, summary=summary, h=h, n_windows=n_windows,
                              step_size=step_size or h, scale=scale, seconds=seconds)

    def evaluate(self, data: Any, *, dataset: str, h: int = 7, n_windows: int = 8, step_size: int | None = None,
                 scale: Scale = "train", variant: str = "default", notes: str = "") -> list[BenchmarkRecord]:
        """Benchmark records of a backtest: ours (role ``ours``) and every base model (role ``baseline``)."""
        result = self.backtest(data, h=h, n_windows=n_windows, step_size=step_size, scale=scale)
        return backtest_records(result, dataset=dataset, variant=variant, notes=notes)

    # -- persistence -----------------------------------------------------------------------------------------
    def save(self, path: str | os.PathLike) -> Path:
        """Write the fitted forecaster into a folder (JSON and Parquet; no pickles)."""
        self._check_fitted()
        folder = Path(path)
        folder.mkdir(parents=True, exist_ok=True)
        comb = self.combination_
        meta = {"format": FORMAT_VERSION, "params": json_safe(self.get_params()), "origin": self.origin_.isoformat(),
                "level": self.series_.level, "freq": self.series_.freq, "target": self.series_.target,
                "ancestors": self.series_.ancestors, "nodes": self.nodes_, "corr": comb.corr,
                "z_quantiles": {str(k): v for k, v in comb.z_quantiles.items()},
                "sum_quantiles": {str(k): v for k, v in comb.sum_quantiles.items()}, "retained": comb.retained,
                "inner_mase": comb.inner_mase, "adjustment": {"level": comb.adjustment.level,
                                                                 "promo": comb.adjustment.promo},
                "count_quantile": comb.count_quantile, "settings": asdict(self.settings_)}
        (folder / "forecaster.json").write_text(json.dumps(meta, indent=2, default=str), encoding="utf-8")
        self.series_.y.to_parquet(folder / "series.parquet", index=False)
        self.base_.to_parquet(folder / "base.parquet", index=False)
        comb.weights.rename_axis("unique_id").reset_index().to_parquet(folder / "weights.parquet", index=False)
        per_series = pd.DataFrame({"sigma": comb.sigma, "inner_level": comb.inner_level.reindex(comb.sigma.index)})
        per_series.rename_axis("unique_id").reset_index().to_parquet(folder / "series_errors.parquet", index=False)
        if comb.g_matrix is not None and self.summing_ is not None:
            np.save(folder / "g_matrix.npy", comb.g_matrix)
            np.save(folder / "summing.npy", self.summing_)
        return folder

    @classmethod
    def load(cls, path: str | os.PathLike) -> Forecaster:
        folder = Path(path)
        meta_path = folder / "forecaster.json"
        if not meta_path.exists():
            raise NotFound(f"{folder} holds no saved Forecaster (no forecaster.json)")
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
        if meta.get("format") != FORMAT_VERSION:
            raise ShoplensError(f"{folder}: saved with format {meta.get('format')}, this shoplens reads "
                                f"{FORMAT_VERSION}; fit it again")
        fc = cls.from_saved_params(meta["params"])
        fc.settings_ = Settings(**meta["settings"])
        y = pd.read_parquet(folder / "series.parquet")
        fc.series_ = SeriesSet(y=y, level=meta["level"], freq=meta["freq"], target=meta["target"],
                               ancestors=meta["ancestors"])
        fc.nodes_ = meta["nodes"]
        weights = pd.read_parquet(folder / "weights.parquet").set_index("unique_id")
        per_series = pd.read_parquet(folder / "series_errors.parquet").set_index("unique_id")
        sigma = per_series["sigma"]
        g_matrix = np.load(folder / "g_matrix.npy") if (folder / "g_matrix.npy").exists() else None
        fc.summing_ = np.load(folder / "summing.npy") if (folder / "summing.npy").exists() else None
        fc.combination_ = Combination(weights=weights, sigma=sigma, corr=meta["corr"],
                                      z_quantiles={float(k): v for k, v in meta["z_quantiles"].items()},
                                      sum_quantiles={float(k): v for k, v in meta["sum_quantiles"].items()},
                                      g_matrix=g_matrix, nodes=fc.nodes_, retained=meta["retained"],
                                      inner_mase=meta["inner_mase"],
                                      adjustment=Adjustment(**meta["adjustment"]),
                                      inner_level=per_series["inner_level"].dropna(),
                                      count_quantile=meta.get("count_quantile"))
        fc.y_all_, _, _ = _prepared(fc.series_, fc.settings_)
        fc.origin_ = pd.Timestamp(meta["origin"])
        fc.base_ = pd.read_parquet(folder / "base.parquet")
        fc.forecast_ = combine(fc.base_, fc.combination_, fc.summing_, fc.levels, fc.settings_.nonnegative)
        return fc

    def card_params(self) -> dict[str, Any]:
        """What the model registry stores about this forecaster."""
        self._check_fitted()
        return {"params": json_safe(self.get_params()), "series": len(self.series_.ids),
                "origin": str(self.origin_.date()), **self.combination_.to_dict()}


def _ours_name(column: str) -> str:
    if column == "y":
        return OURS
    if column.startswith("y-"):
        return OURS + column[1:]
    if column == "y_sd":
        return f"{OURS}_sd"
    return column


def _prepared(series: SeriesSet, settings: Settings) -> tuple[pd.DataFrame, np.ndarray | None, list[str]]:
    """Bottom series regularised (every period from a series' start to the common end, zeros filled), plus
    the aggregates and the summing matrix when reconciling."""
    y = _regular(series, settings.freq)
    series = SeriesSet(y=y, level=series.level, freq=series.freq, target=series.target,
                       ancestors=series.ancestors)
    count = len(series.ids)  # pd.unique over the whole history on each access: once here
    if settings.reconcile and series.ancestors and count > RECONCILE_MAX_SERIES:
        logging.getLogger("shoplens.forecast").warning(
            "reconcile=%r skipped: %d series is more than %d (the dense reconciliation matrices would need "
            "%.1f GB); the aggregates' forecasts are not made coherent", settings.reconcile, count,
            RECONCILE_MAX_SERIES, 3 * 8 * count ** 2 / 1e9)
    elif settings.reconcile and series.ancestors:
        summing, nodes = series.summing_matrix()
        y_all = series.with_aggregates()
        exog = [c for c in ("price", "promo") if c in y.columns]
        if exog:
            y_all = y_all.merge(y[["unique_id", "ds", *exog]], on=["unique_id", "ds"], how="left")
        return y_all, summing, nodes
    return y, None, series.ids


def _regular(series: SeriesSet, freq: str) -> pd.DataFrame:
    y = series.y
    end = y["ds"].max()
    starts = y.groupby("unique_id", sort=False)["ds"].min()
    complete = sum(len(pd.date_range(s, end, freq=FREQS[freq])) for s in starts)
    if complete == len(y):
        return y
    frames = []
    for uid, part in y.groupby("unique_id", sort=False):
        idx = pd.date_range(part["ds"].min(), end, freq=FREQS[freq])
        full = part.set_index("ds").reindex(idx)
        full.index.name = "ds"
        full["unique_id"] = uid
        full["y"] = full["y"].fillna(0.0)
        for col in ("price",):
            if col in full:
                full[col] = full[col].ffill().bfill()
        if "promo" in full:
            full["promo"] = full["promo"].fillna(0.0)
        frames.append(full.reset_index())
    out = pd.concat(frames, ignore_index=True)
    return out[y.columns.tolist()]


def _season_for_history(y: pd.DataFrame, origin: pd.Timestamp, settings: Settings) -> None:
    """Without two full seasons before the first inner window (a year of weeks, say), models run without
    a season (season length 1) rather than refuse."""
    first_inner = inner_cutoffs(settings, origin)[0]
    longest = y[y["ds"] <= first_inner].groupby("unique_id")["ds"].size().max()
    if settings.season > 1 and not longest >= min_history(settings.season):
        settings.season = 1


def _check_history(y: pd.DataFrame, origin: pd.Timestamp, settings: Settings) -> None:
    first_inner = inner_cutoffs(settings, origin)[0]
    history = y[y["ds"] <= first_inner].groupby("unique_id")["ds"].size()
    if history.empty or history.max() < min_history(settings.season):
        periods = {"D": "days", "W": "weeks", "M": "months"}[settings.freq]
        need = (min_history(settings.season) + settings.cv_horizon
                + (settings.cv_windows - 1) * (settings.cv_step or settings.cv_horizon))
        raise InsufficientHistory(
            f"too little history to choose and check an ensemble: the longest series needs at least "
            f"{need} {periods} before the first forecast origin ({origin.date()!s}); "
            f"use a coarser freq, fewer cv_windows or more data")


def _price_frame(prices: pd.DataFrame | None, nodes: list[str]) -> pd.DataFrame | None:
    if prices is None:
        return None
    missing = [c for c in ("unique_id", "ds") if c not in prices.columns]
    if missing or not ({"price", "promo"} & set(prices.columns)):
        raise InputError("prices: need columns unique_id, ds and price (and/or promo)")
    frame = prices.copy()
    frame["unique_id"] = frame["unique_id"].astype(str)
    frame["ds"] = pd.to_datetime(frame["ds"], errors="coerce")
    unknown = sorted(set(frame["unique_id"]) - set(nodes))
    if unknown:
        raise InputError(f"prices: unknown product(s) {', '.join(unknown[:5])}")
    if frame["ds"].isna().any():
        raise InputError("not a date", row=int(np.flatnonzero(frame["ds"].isna().to_numpy())[0]), column="ds")
    if "price" in frame and (pd.to_numeric(frame["price"], errors="coerce") <= 0).any():
        raise InputError("prices must be positive", column="price")
    return frame


def backtest_records(result: BacktestResult, *, dataset: str, variant: str = "default", notes: str = "",
                     protocol: Protocol | None = None) -> list[BenchmarkRecord]:
    """Records of a backtest: ours (role ``ours``), every base model as role ``baseline``."""
    from shoplens.evaluation import BenchmarkRecord, Protocol

    protocol = protocol or Protocol(split="rolling_origin", horizon=result.h, windows=result.n_windows,
                                    notes=notes or f"step {result.step_size}; MASE scale: {result.scale}")
    records = []
    for row in result.summary.to_dict(orient="records"):
        metrics = {k: _clean(row[k]) for k in ("mase", "smape", "rmsse", "wrmsse", "bias",
                                               "share_series_not_worse", "mase_gain_vs_snaive") if k in row}
        metrics.update({k: _clean(v) for k, v in row.items() if k.startswith("coverage_")})
        role = "ours" if row["model"] == OURS else "baseline"
        records.append(BenchmarkRecord.create(benchmark="forecast", dataset=dataset, variant=variant,
                                              model=str(row["model"]).lower(), role=role, protocol=protocol,
                                              metrics=metrics,
                                              seconds=round(result.seconds, 2) if role == "ours" else None))
    return records


def _clean(value: Any) -> float | None:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return None if not np.isfinite(number) else round(number, 6)

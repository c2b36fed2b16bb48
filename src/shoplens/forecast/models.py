"""The base models and how each one forecasts from one origin.

Statistical models come from statsforecast (one local model per series); ``LightGBM`` is one global
model over all series (mlforecast) with lags, calendar features and, at the product level, the price
and promotion of each forecast day; ``SeasonalProfile`` is our own cheap model: an exponentially
weighted level times the series' weekday (or month) profile shrunk towards the profile of all series.
Every model forecasts from the same origin with :func:`forecast_from`; rolling-origin evaluation calls
it once per window, so nothing a model sees lies after its origin.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import pandas as pd

from shoplens.errors import InputError, ShoplensError
from shoplens.forecast.series import FREQS, SEASON

BASELINE = "SeasonalNaive"
# Models the Forecaster combines by default: chosen on the Bakery series before the evaluation period
# (docs/forecast.md, "How the defaults were chosen").
DEFAULT_MODELS: tuple[str, ...] = ("AutoETS", "AutoTheta", "AutoCES", "SeasonalProfile", "LightGBM")
INTERMITTENT_MODELS: tuple[str, ...] = ("CrostonSBA", "ADIDA", "IMAPA")
OWN_MODELS = ("SeasonalProfile", "LightGBM")


def _stat_factories() -> dict[str, Callable[[int], Any]]:
    from statsforecast import models as m

    return {
        "SeasonalNaive": lambda s: m.SeasonalNaive(season_length=s, alias="SeasonalNaive"),
        "Naive": lambda s: m.Naive(alias="Naive"),
        "HistoricAverage": lambda s: m.HistoricAverage(alias="HistoricAverage"),
        "SeasonalWindowAverage": lambda s: m.SeasonalWindowAverage(season_length=s, window_size=4,
                                                                   alias="SeasonalWindowAverage"),
        "AutoETS": lambda s: m.AutoETS(season_length=s, alias="AutoETS"),
        "AutoARIMA": lambda s: m.AutoARIMA(season_length=s, alias="AutoARIMA"),
        "AutoTheta": lambda s: m.AutoTheta(season_length=s, alias="AutoTheta"),
        "AutoCES": lambda s: m.AutoCES(season_length=s, alias="AutoCES"),
        "MSTL": lambda s: m.MSTL(season_length=s, alias="MSTL"),
        "CrostonSBA": lambda s: m.CrostonSBA(alias="CrostonSBA"),
        "ADIDA": lambda s: m.ADIDA(alias="ADIDA"),
        "IMAPA": lambda s: m.IMAPA(alias="IMAPA"),
    }


STAT_MODELS: tuple[str, ...] = ("SeasonalNaive", "Naive", "HistoricAverage", "SeasonalWindowAverage", "AutoETS",
                                "AutoARIMA", "AutoTheta", "AutoCES", "MSTL", "CrostonSBA", "ADIDA", "IMAPA")
ALIASES = {"Theta": "AutoTheta", "ETS": "AutoETS", "ARIMA": "AutoARIMA", "CES": "AutoCES", "LGBM": "LightGBM"}
KNOWN_MODELS: tuple[str, ...] = STAT_MODELS + OWN_MODELS


def canonical_models(names: Sequence[str]) -> list[str]:
    """Model names as the Forecaster uses them (aliases resolved, unknown names refused)."""
    out = []
    for name in names:
        real = ALIASES.get(name, name)
        if real not in KNOWN_MODELS:
            raise InputError(f"unknown model {name!r}; models are {', '.join(KNOWN_MODELS)}")
        if real not in out:
            out.append(real)
    return out


def min_history(season: int) -> int:
    """Periods a series needs before statistical models with a season of ``season`` are fitted to it."""
    return 2 * season + 2


def forecast_from(train: pd.DataFrame, h: int, models: Sequence[str], *, freq: str,
                  future_exog: pd.DataFrame | None = None, nonnegative: bool = True,
                  lgbm_params: dict[str, Any] | None = None, season: int | None = None) -> pd.DataFrame:
    """Forecasts of every model for the ``h`` periods after the end of ``train`` (same end for all series).

    ``train``: ``unique_id, ds, y`` (+ ``price``, ``promo``); ``future_exog``: those columns for the forecast
    periods (LightGBM only). Series too short for a model get the ``SeasonalProfile`` forecast in its
    column. ``season``: the statistical models' season length (default: the frequency's). Returns
    ``unique_id, ds`` and one column per model.
    """
    season = season or SEASON[freq]
    pfreq = FREQS[freq]
    end = train["ds"].max()
    future = pd.date_range(end, periods=h + 1, freq=pfreq)[1:]
    ids = pd.unique(train["unique_id"])
    grid = pd.DataFrame({"unique_id": np.repeat(ids, h), "ds": np.tile(future, len(ids))})
    profile = seasonal_profile(train, h, freq)
    out = grid.merge(profile, on=["unique_id", "ds"], how="left")
    lengths = train.groupby("unique_id", sort=False)["ds"].size()
    stats = [m for m in models if m in STAT_MODELS]
    if stats:
        long_ids = lengths.index[lengths >= min_history(season)]
        if len(long_ids):
            part = train[train["unique_id"].isin(long_ids)][["unique_id", "ds", "y"]]
            out = out.merge(_stat_forecast(part, h, stats, season, pfreq), on=["unique_id", "ds"], how="left")
    if "LightGBM" in models:
        out = out.merge(lightgbm_forecast(train, h, freq, future_exog, lgbm_params), on=["unique_id", "ds"],
                        how="left")
    for model in models:
        if model not in out:
            out[model] = np.nan
        out[model] = out[model].fillna(out["SeasonalProfile"])
        if nonnegative:
            out[model] = out[model].clip(lower=0)
    return out[["unique_id", "ds", *models]]


def _stat_forecast(train: pd.DataFrame, h: int, names: list[str], season: int, pfreq: str) -> pd.DataFrame:
    from statsforecast import StatsForecast

    factories = _stat_factories()
    sf = StatsForecast(models=[factories[n](season) for n in names], freq=pfreq, n_jobs=1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = sf.forecast(df=train, h=h)
    return result.reset_index() if "unique_id" not in result.columns else result


def seasonal_profile(train: pd.DataFrame, h: int, freq: str, *, halflife: float = 14.0, weeks: int = 8,
                     shrink: float = 5.0) -> pd.DataFrame:
    """``SeasonalProfile``: EWMA level (half-life in periods) × the series' seasonal profile over the last
    ``weeks`` seasons, shrunk towards the profile of all series (``shrink`` seasons' worth of units)."""
    pfreq = FREQS[freq]
    wide = train.pivot(index="ds", columns="unique_id", values="y")
    full_index = pd.date_range(wide.index.min(), wide.index.max(), freq=pfreq)
    wide = wide.reindex(full_index)
    future = pd.date_range(full_index[-1], periods=h + 1, freq=pfreq)[1:]
    level = wide.ewm(halflife=halflife, ignore_na=True).mean().iloc[-1].fillna(0.0)
    key = _season_key(full_index, freq)
    if key is None:
        factors = np.ones((h, wide.shape[1]))
    else:
        n_keys = SEASON[freq]
        recent = wide.iloc[-weeks * n_keys:]
        rkey = key[-len(recent):]
        sums = recent.fillna(0.0).groupby(rkey).sum().reindex(range(n_keys), fill_value=0.0)
        counts = recent.notna().groupby(rkey).sum().reindex(range(n_keys), fill_value=0).clip(lower=1)
        per_key = sums / counts  # mean per season position
        own = per_key.div(per_key.mean().where(per_key.mean() > 0), axis=1).fillna(1.0)
        pooled = per_key.sum(axis=1)
        pooled = pooled / pooled.mean() if pooled.mean() > 0 else pooled * 0 + 1
        weight = recent.fillna(0).sum() / (recent.fillna(0).sum() + shrink * n_keys)
        shrunk = own.mul(weight, axis=1) + np.outer(pooled.to_numpy(), (1 - weight).to_numpy())
        fkey = _season_key(future, freq)
        factors = shrunk.to_numpy()[fkey]
    values = factors * level.to_numpy()[None, :]
    frame = pd.DataFrame(values, index=future, columns=wide.columns)
    frame.index.name, frame.columns.name = "ds", "unique_id"
    return frame.stack().rename("SeasonalProfile").reset_index()[["unique_id", "ds", "SeasonalProfile"]]


def _season_key(index: pd.DatetimeIndex, freq: str) -> np.ndarray | None:
    if freq == "D":
        return index.dayofweek.to_numpy()
    if freq == "M":
        return index.month.to_numpy() - 1
    return None  # weekly: a 52-week profile needs years of data; level only


# -- LightGBM (mlforecast) ---------------------------------------------------------------------------------
LGBM_DEFAULTS: dict[str, Any] = {"n_estimators": 300, "learning_rate": 0.03, "num_leaves": 15,
                                 "min_child_samples": 20, "objective": "l1", "n_jobs": 2, "verbose": -1,
                                 "random_state": 0}


def _lgbm_features(freq: str) -> tuple[list[int], dict[int, list[Any]], list[str]]:
    from mlforecast.lag_transforms import RollingMean, SeasonalRollingMean

    if freq == "D":
        return ([1, 7, 14, 21, 28], {1: [RollingMean(7), RollingMean(28)], 7: [SeasonalRollingMean(7, 4)]},
                ["dayofweek", "month"])
    if freq == "W":
        return [1, 2, 3, 4], {1: [RollingMean(4), RollingMean(13)]}, ["month"]
    return [1, 2, 3, 12], {1: [RollingMean(3), RollingMean(12)]}, ["month"]


def lightgbm_forecast(train: pd.DataFrame, h: int, freq: str, future_exog: pd.DataFrame | None,
                      params: dict[str, Any] | None = None) -> pd.DataFrame:
    """One global LightGBM over all series (L1 loss: a median forecast), recursive over the horizon."""
    try:
        import lightgbm as lgb
        from mlforecast import MLForecast
        from mlforecast.target_transforms import LocalStandardScaler
    except ImportError as exc:  # pragma: no cover - the extra is installed in development
        raise ShoplensError(f"LightGBM needs {exc.name}: install shoplens[forecast]") from None
    lags, transforms, dates = _lgbm_features(freq)
    exog = [c for c in ("price", "promo") if c in train.columns]
    frame = train[["unique_id", "ds", "y", *exog]].copy()
    if "price" in exog:  # relative to the series' own mean price: comparable across products
        mean_price = frame.groupby("unique_id")["price"].transform("mean")
        frame["price"] = frame["price"] / mean_price.where(mean_price > 0)
    model = lgb.LGBMRegressor(**{**LGBM_DEFAULTS, **(params or {})})
    mlf = MLForecast(models={"LightGBM": model}, freq=FREQS[freq], lags=lags, lag_transforms=transforms,
                     date_features=dates, target_transforms=[LocalStandardScaler()])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        features, target = mlf.preprocess(frame, static_features=[], return_X_y=True)
        if len(features) == 0:
            return pd.DataFrame(columns=["unique_id", "ds", "LightGBM"])  # too little history for the lags
        if "price" in features.columns:
            # the law of demand as a constraint: a higher price never raises the forecast (prices in shop data
            # move with seasons and promotions, which trees would otherwise read as a price effect)
            model.set_params(monotone_constraints=[-1 if c == "price" else 0 for c in features.columns],
                             monotone_constraints_method="advanced")
        mlf.fit_models(features, target)
        x_df = _future_exog(frame, train, h, freq, future_exog, exog) if exog else None
        result = mlf.predict(h, X_df=x_df)
    return result[["unique_id", "ds", "LightGBM"]]


def _future_exog(frame: pd.DataFrame, train: pd.DataFrame, h: int, freq: str, given: pd.DataFrame | None,
                 exog: list[str]) -> pd.DataFrame:
    """Price and promotion of the forecast periods: as given, else the last price and no promotion."""
    end = train["ds"].max()
    future = pd.date_range(end, periods=h + 1, freq=FREQS[freq])[1:]
    ids = pd.unique(train["unique_id"])
    grid = pd.DataFrame({"unique_id": np.repeat(ids, h), "ds": np.tile(future, len(ids))})
    last = train.sort_values("ds").groupby("unique_id").tail(1).set_index("unique_id")
    if "price" in exog:
        grid["price"] = grid["unique_id"].map(last["price"])
    if "promo" in exog:
        grid["promo"] = 0.0
    if given is not None:
        cols = [c for c in exog if c in given.columns]
        if cols:
            merged = grid.merge(given[["unique_id", "ds", *cols]], on=["unique_id", "ds"], how="left",
                                suffixes=("", "_given"))
            for c in cols:
                merged[c] = merged[f"{c}_given"].fillna(merged[c])
            grid = merged[["unique_id", "ds", *exog]]
    if "price" in exog:
        mean_price = train.groupby("unique_id")["price"].mean()
        grid["price"] = grid["price"] / grid["unique_id"].map(mean_price.where(mean_price > 0))
    return grid

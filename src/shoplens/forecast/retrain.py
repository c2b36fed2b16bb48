"""The forecaster as a retraining contender (shoplens.retrain): champion and challenger forecast the same
most recent days, scored against the actual daily units of every product.

The challenger is the champion's recipe (the parameters on its card) trained on the current data — or, with no
champion, the profile's recipe. The score follows what the recipe forecasts: RMSSE for means (the default point:
squared error is what a mean minimises; absolute error would reward forecasting too little for intermittent
series), MASE for medians. Per product, the window's error is scaled by its weekly seasonal-naive error on the
days before the window (the same scale for both models), then averaged over products. A product the champion
never forecast (launched after it was trained) counts as forecast 0 — what the deployed model gave.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import TYPE_CHECKING, Any

from shoplens.errors import InputError
from shoplens.retrain import Score, Window, contender

if TYPE_CHECKING:
    import pandas as pd

    from shoplens.forecast.forecaster import Forecaster
    from shoplens.forecast.series import SeriesSet
    from shoplens.workspace import Workspace

SEASON = 7


class ForecastContender:
    model_name = "forecast"
    metric = "rmsse"  # "mase" for a recipe that forecasts medians (set by challenger())
    higher_is_better = False

    def window(self, ws: Workspace, days: int) -> Window:
        last = ws.sql("SELECT max(day) AS d FROM daily_sales")["d"].iloc[0]
        first = ws.sql("SELECT min(day) AS d FROM daily_sales")["d"].iloc[0]
        if last is None or str(last) == "NaT":
            raise InputError("no sales to forecast: daily_sales is empty (ingest orders and order_items)")
        end = _date(last)
        start = end - dt.timedelta(days=days - 1)
        if (start - _date(first)).days < 8 * SEASON:
            raise InputError(f"a {days}-day window leaves less than 8 weeks of sales before it "
                             f"({_date(first)} … {end}); use a shorter window (--window-days)")
        return Window(start, end)

    def recipe(self, ws: Workspace, profile: str) -> Forecaster:
        """The champion's recipe when one is deployed, else the profile's (unfitted)."""
        from shoplens.forecast.forecaster import Forecaster
        from shoplens.forecast.workflow import forecaster_params

        deployed = ws.models.deployed().get(self.model_name)
        model = Forecaster.from_saved_params(deployed.params["params"]) if deployed is not None \
            else Forecaster(**forecaster_params(profile))
        self.metric = "mase" if model.point == "median" else "rmsse"
        return model

    def challenger(self, ws: Workspace, window: Window, profile: str) -> Forecaster:
        model = self.recipe(ws, profile)
        return model.fit(_series_until(ws, model, window.cutoff))

    def champion(self, ws: Workspace, version: str, window: Window) -> Forecaster:
        from shoplens.forecast.forecaster import Forecaster
        from shoplens.forecast.store import load_model

        deployed = load_model(ws, version)
        if deployed.origin_.date() < window.start:
            return deployed
        # its training saw the window: its recipe, trained again up to the cut-off, stands for it
        recipe = Forecaster.from_saved_params(ws.models.card(self.model_name, version).params["params"])
        refit = recipe.fit(_series_until(ws, recipe, window.cutoff))
        refit.refit_from_ = version
        return refit

    def score(self, ws: Workspace, model: Forecaster, window: Window) -> Score:
        actual = _series_until(ws, model, window.end).y
        h = (window.end - model.origin_.date()).days
        forecast = model.predict(h)[["unique_id", "ds", "y"]].rename(columns={"y": "forecast"})
        value = window_error(actual, forecast, window, squared=self.metric == "rmsse")
        refit = getattr(model, "refit_from_", None) is not None
        note = (f"recipe of {model.refit_from_} trained up to {window.cutoff}" if refit
                else f"trained up to {model.origin_.date()}, forecasting {h} days ahead")
        return Score(round(value, 6), refit=refit, note=note)

    def train_final(self, ws: Workspace, profile: str) -> str:
        from shoplens.forecast.store import save_model

        return save_model(ws, self.recipe(ws, profile).fit(ws))

    def publish(self, ws: Workspace, version: str) -> None:
        from shoplens.forecast.store import load_model, publish
        from shoplens.forecast.workflow import compute_plan

        model = load_model(ws, version)
        publish(ws, model.predict(), compute_plan(ws, model), version, model.level)

    def published_version(self, ws: Workspace) -> str | None:
        from shoplens.forecast.store import published_version

        return published_version(ws)


@contender("forecast")
def forecast_contender() -> ForecastContender:
    return ForecastContender()


def _date(value: Any) -> dt.date:
    import pandas as pd

    return pd.Timestamp(value).date()


def _series_until(ws: Workspace, model: Forecaster, last_day: dt.date) -> SeriesSet:
    """The model's series (its level, frequency, target) with the days after ``last_day`` left out."""
    import pandas as pd

    from shoplens.forecast.series import series_from_workspace

    series = series_from_workspace(ws, level=model.level, freq=model.freq, target=model.target,  # type: ignore[arg-type]
                                   fill=model.fill, products=model.products)  # type: ignore[arg-type]
    kept = series.y[series.y["ds"] <= pd.Timestamp(last_day)]
    return dataclasses.replace(series, y=kept.reset_index(drop=True))


def window_error(actual: pd.DataFrame, forecast: pd.DataFrame, window: Window, *, squared: bool) -> float:
    """Mean over series of the window's error scaled by the series' weekly seasonal-naive error before the window:
    RMSSE (``squared``) or MASE; series without a scale (too short, or constant) are left out."""
    import numpy as np
    import pandas as pd

    start, end = pd.Timestamp(window.start), pd.Timestamp(window.end)
    history = actual[actual["ds"] < start]
    inside = actual[(actual["ds"] >= start) & (actual["ds"] <= end)][["unique_id", "ds", "y"]]
    joined = inside.merge(forecast, on=["unique_id", "ds"], how="left").fillna({"forecast": 0.0})
    power = 2 if squared else 1
    error = ((joined["y"] - joined["forecast"]).abs() ** power).groupby(joined["unique_id"]).mean()
    scale = history.groupby("unique_id")["y"].apply(lambda y: _seasonal_naive_error(y, power))
    ratio = (error / scale.reindex(error.index)).replace([np.inf, -np.inf], np.nan).dropna() ** (1 / power)
    if ratio.empty:
        raise InputError(f"no product has both sales before {window.start} and a seasonal-naive scale")
    return float(ratio.mean())


def _seasonal_naive_error(y: pd.Series, power: int) -> float:
    """Mean |y_t − y_{t−7}|^power over a series' history (NaN when too short or zero)."""
    import numpy as np

    values = y.to_numpy(dtype=float)
    if len(values) <= SEASON:
        return float("nan")
    value = float(np.mean(np.abs(values[SEASON:] - values[:-SEASON]) ** power))
    return value if value > 0 else float("nan")

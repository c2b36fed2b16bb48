"""Demand forecasting with honest backtests, and inventory policy (docs/forecast.md).

Heavy libraries (statsforecast, mlforecast, lightgbm) load only when a model runs, so importing this
package is cheap.
"""

from __future__ import annotations

from shoplens._imports import lazy_exports

_EXPORTS = {
    "Forecaster": "shoplens.forecast.forecaster",
    "BacktestResult": "shoplens.forecast.forecaster",
    "backtest_records": "shoplens.forecast.forecaster",
    "SeriesSet": "shoplens.forecast.series",
    "build_series": "shoplens.forecast.series",
    "series_from_workspace": "shoplens.forecast.series",
    "series_from_frame": "shoplens.forecast.series",
    "inventory_plan": "shoplens.forecast.inventory",
    "lead_time_demand": "shoplens.forecast.inventory",
    "eoq": "shoplens.forecast.inventory",
    "newsvendor_normal": "shoplens.forecast.inventory",
    "safety_stock": "shoplens.forecast.inventory",
    "replay_policy": "shoplens.forecast.replay",
    "demand_at_prices": "shoplens.forecast.store",
    "read_plan": "shoplens.forecast.store",
    "read_forecast": "shoplens.forecast.store",
}

__all__ = sorted(_EXPORTS)


__getattr__ = lazy_exports(__name__, _EXPORTS)

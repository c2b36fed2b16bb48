"""Behaviour analytics: KPIs, RFM segments, cohorts, funnels, CLV and churn, market baskets.

The SQL analyses (``analytics/sql/``) run on DuckDB by default or on Spark, are stored in the warehouse
as ``analytics_<name>`` and come back as pandas; models (BG/NBD + Gamma-Gamma, LightGBM churn, association
rules) are fitted in Python on their results. See docs/analytics.md::

    import shoplens as sl
    from shoplens import analytics

    ws = sl.Workspace.open("shop")
    segments = analytics.rfm(ws).segments
    clv = analytics.CLVModel().fit(ws).predict()

Names are imported on first use, so ``import shoplens.analytics`` stays cheap for the CLI.
"""

from __future__ import annotations

from shoplens._imports import lazy_exports

_EXPORTS = {
    "AnalysisSession": "api", "FunnelResult": "api", "RFMResult": "api", "cohort_matrix": "api", "cohorts": "api",
    "funnel": "api", "kpis": "api", "pair_counts": "api", "rfm": "api", "run_queries": "api",
    "store_result": "api",
    "AssociationRules": "baskets",
    "BetaGeoFitter": "clv", "CLVModel": "clv", "GammaGammaFitter": "clv",
    "ChurnModel": "churn",
    "Funnel": "funnels", "FunnelStep": "funnels",
    "truth_recovery": "truth",
}

__all__ = sorted(_EXPORTS)


__getattr__ = lazy_exports(__name__, {name: f"{__name__}.{module}" for name, module in _EXPORTS.items()})

"""Models fitted on the SQL results, with their outputs stored beside them in the warehouse:
``analytics_clv`` (CLV per customer), ``analytics_churn`` (churn probability per customer) and
``analytics_rules`` (association rules). Used by the CLI, the pipeline steps and the Python API alike."""

from __future__ import annotations

from typing import Any

import pandas as pd

from shoplens.analytics.api import store_result
from shoplens.analytics.baskets import AssociationRules
from shoplens.analytics.churn import ChurnModel
from shoplens.analytics.clv import CLVModel


def fit_clv(data: Any, **params: Any) -> tuple[CLVModel, pd.DataFrame]:
    """Fit BG/NBD + Gamma-Gamma and store the per-customer predictions as ``analytics_clv``."""
    model = CLVModel(**params).fit(data)
    predictions = model.predict()
    store_result(data, "clv", predictions)
    return model, predictions


def fit_churn(data: Any, **params: Any) -> tuple[ChurnModel, pd.DataFrame]:
    """Fit the churn model for the present and store each customer's probability as ``analytics_churn``."""
    model = ChurnModel(**params).fit(data)
    predictions = model.predict(data)
    store_result(data, "churn", predictions)
    return model, predictions


def fit_rules(data: Any, **params: Any) -> AssociationRules:
    """Mine association rules and store them as ``analytics_rules`` (items as lists)."""
    model = AssociationRules(**params).fit(data)
    rules = model.rules().assign(antecedents=lambda f: f["antecedents"].map(list),
                                 consequents=lambda f: f["consequents"].map(list))
    rules["conviction"] = rules["conviction"].where(rules["conviction"] != float("inf"))  # JSON has no infinity
    store_result(data, "rules", rules)
    return model

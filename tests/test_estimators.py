"""Every capability model has the one surface of ``shoplens.base.Estimator``: parameters from the constructor,
``fit`` on a workspace returns the model, ``evaluate`` gives benchmark records with ours and a baseline,
``save``/``load`` round-trip, and the loaded model predicts exactly what the fitted one did."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

import shoplens as sl
from shoplens.base import Estimator
from shoplens.evaluation import BenchmarkRecord
from tests.conftest import copy_workspace


@dataclass(frozen=True)
class Case:
    make: Callable[[], Estimator]
    evaluate: Callable[[Estimator, sl.Workspace], list[BenchmarkRecord]]
    predict: Callable[[Estimator, sl.Workspace], Any]  # what must be identical after save and load


def _recommend_test(ws: sl.Workspace) -> pd.DataFrame:
    from shoplens.recommend.api import split_interactions
    from shoplens.recommend.data import interactions_frame

    return split_interactions(interactions_frame(ws))[0].test


def _churn_cutoff(ws: sl.Workspace) -> dt.date:
    from shoplens.analytics.churn import prediction_cutoff

    return prediction_cutoff(ws) - dt.timedelta(days=60)


def _prices(ws: sl.Workspace) -> pd.DataFrame:
    products = ws.sql("SELECT product_id, price FROM products ORDER BY product_id LIMIT 5")
    return pd.concat([products.assign(price=products["price"].astype(float) * f) for f in (0.9, 1.0, 1.1)],
                     ignore_index=True)


def _query_cases() -> list[dict]:
    import json

    return json.loads((Path(__file__).parent / "search" / "query_cases.json").read_text(encoding="utf-8"))["cases"]


QUERIES = ["red dress under 50", "samsnug phone", "50元以下的红色连衣裙", "连衣裙", "cheap tent"]


TEXTS = ["The fabric is lovely but it runs small", "Arrived late and the box was crushed", "质量很好，物流也快"]


def _cases() -> dict[str, Case]:
    from shoplens.analytics.baskets import AssociationRules
    from shoplens.analytics.churn import ChurnModel
    from shoplens.analytics.clv import CLVModel
    from shoplens.forecast import Forecaster
    from shoplens.graph import ProductGraph
    from shoplens.pricing import ElasticityModel
    from shoplens.recommend import EASE, AutoRecommender
    from shoplens.reviews import AspectModel, RatingModel
    from shoplens.search import Search
    from shoplens.search.query import QueryParser

    return {
        "recommend": Case(lambda: EASE(lam=100), lambda m, ws: m.evaluate(_recommend_test(ws)),
                          lambda m, ws: m.top_k(np.arange(20), 10)),
        "recommend-auto": Case(lambda: AutoRecommender(candidates=("popularity", "ease", "session_ease"),
                                                       time_budget=60.0),
                               lambda m, ws: m.evaluate(_recommend_test(ws)), lambda m, ws: m.top_k(np.arange(20), 10)),
        "forecast": Case(lambda: Forecaster(models=["SeasonalProfile", "LightGBM"], horizon=7, cv_windows=2),
                         lambda m, ws: m.evaluate(ws, dataset="simulator_forecast", h=7, n_windows=2),
                         lambda m, ws: m.predict()),
        "pricing": Case(lambda: ElasticityModel(min_days=28, min_units=10), lambda m, ws: m.evaluate(ws),
                        lambda m, ws: m.predict(_prices(ws))),
        "reviews": Case(lambda: RatingModel(method="tfidf", chinese_method="tfidf", min_reviews=20),
                        lambda m, ws: m.evaluate(ws), lambda m, ws: m.predict_proba(TEXTS)),
        "aspects": Case(lambda: AspectModel(), lambda m, ws: m.evaluate(ws), lambda m, ws: m.analyze(TEXTS)),
        "churn": Case(lambda: ChurnModel(n_estimators=40), lambda m, ws: m.evaluate(ws, cutoff=_churn_cutoff(ws)),
                      lambda m, ws: m.predict(ws)),
        "clv": Case(lambda: CLVModel(), lambda m, ws: m.evaluate(ws, holdout_days=60),
                    lambda m, ws: m.predict(m.summary(ws)).sort_values("customer_id")),
        "query": Case(lambda: QueryParser(), lambda m, ws: m.evaluate(_query_cases()),
                      lambda m, ws: [m.parse(q).to_dict() for q in QUERIES]),
        "graph": Case(lambda: ProductGraph(similar_k=3), lambda m, ws: m.evaluate(ws, n_products=30),
                      lambda m, ws: m.neighbours("P00001")),
        "rules": Case(lambda: AssociationRules(min_support=0.005),
                      lambda m, ws: m.evaluate(ws.sql("SELECT order_id, product_id FROM order_items"),
                                               dataset="simulator_baskets"),
                      lambda m, ws: m.rules().head(20)),
        "search": Case(lambda: Search(), lambda m, ws: m.evaluate(ws, max_queries=50),
                       lambda m, ws: m.query("gift for a runner", k=5, explain=True).items),
    }


CASES = _cases()


@pytest.fixture(scope="module")
def shop(demo_shop: sl.Workspace, tmp_path_factory: pytest.TempPathFactory) -> sl.Workspace:
    return copy_workspace(demo_shop, tmp_path_factory.mktemp("estimators"))


@pytest.mark.parametrize("name", list(CASES))
def test_one_surface(name: str, shop: sl.Workspace, tmp_path: Path) -> None:
    case = CASES[name]
    model = case.make()
    assert isinstance(model, Estimator)
    params = model.get_params()
    assert params and type(model)(**params).get_params() == params  # parameters are the constructor's
    assert model.fit(shop) is model
    records = case.evaluate(model, shop)
    assert all(isinstance(r, BenchmarkRecord) and r.metrics and r.protocol.split for r in records)
    assert "ours" in {r.role for r in records}, [(r.model, r.role) for r in records]
    before = case.predict(model, shop)
    loaded = type(model).load(model.save(tmp_path / name))
    assert loaded.get_params() == model.get_params()
    _assert_same(case.predict(loaded, shop), before)


def test_registry_round_trip(shop: sl.Workspace, tmp_path: Path) -> None:
    ws = copy_workspace(shop, tmp_path)
    case = CASES["clv"]
    model = case.make().fit(ws)
    card = model.register(ws, deploy=True, notes="test")
    assert card.name == "analytics-clv" and ws.models.deployed()["analytics-clv"].version == card.version
    again = type(model).from_registry(ws)
    _assert_same(case.predict(again, ws), case.predict(model, ws))


def _assert_same(got: Any, expected: Any) -> None:
    if isinstance(expected, pd.DataFrame):
        pd.testing.assert_frame_equal(got.reset_index(drop=True), expected.reset_index(drop=True))
    elif isinstance(expected, tuple):
        for left, right in zip(got, expected, strict=True):
            np.testing.assert_array_equal(left, right)
    elif isinstance(expected, np.ndarray):
        np.testing.assert_allclose(got, expected, rtol=1e-6)
    else:
        assert got == expected

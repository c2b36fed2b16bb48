"""The fast (demo) profile on a shop larger than its caps (issue 14): each capped step does less and says what it
left out. The caps are lowered below the small simulated shop's size so that the real steps run capped."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import shoplens as sl
from shoplens.assistant import steps as assistant_steps
from shoplens.forecast import steps as forecast_steps
from shoplens.pipeline import run
from shoplens.recommend import steps as recommend_steps
from shoplens.reviews import steps as reviews_steps
from tests.conftest import copy_workspace


@pytest.fixture(scope="module")
def capped(small_shop: sl.Workspace, tmp_path_factory: pytest.TempPathFactory) -> tuple[sl.Workspace, dict]:
    """The small shop after a demo run with every cap lowered below its size."""
    patch = pytest.MonkeyPatch()
    patch.setattr(reviews_steps, "FAST_MAX_REVIEWS", 40)  # the small shop has 87 reviews of 31 products
    patch.setattr(reviews_steps, "FAST_BASELINE_TRAIN", 30)
    patch.setattr(assistant_steps, "FAST_MAX_REVIEWS", 40)
    patch.setattr(assistant_steps, "FAST_MIN_PER_PRODUCT", 1)
    patch.setattr(forecast_steps, "FAST_MAX_SERIES", 10)
    patch.setattr(forecast_steps, "FAST_BACKTEST_SERIES", 12)
    patch.setattr(recommend_steps, "FAST_EVAL_CUSTOMERS", 60)
    try:
        ws = copy_workspace(small_shop, tmp_path_factory.mktemp("fast"))
        results = run(ws, ["reviews", "recommend", "forecast", "assistant"], profile="demo")
    finally:
        patch.undo()
    by_step = {f"{r.capability}.{r.stage}.{r.name}": r for r in results}
    assert not [r for r in results if r.status != "ok"], {k: (r.status, r.error) for k, r in by_step.items()}
    return ws, by_step


def _card(ws: sl.Workspace, name: str) -> dict:
    folder = ws.path / "models" / name
    return json.loads((folder / (folder / "DEPLOYED").read_text().strip() / "card.json").read_text())


def test_reviews_use_tfidf_stars_and_the_aspects_of_the_newest_reviews(capped: tuple) -> None:
    ws, steps = capped
    notes = steps["reviews.train.train"].notes
    assert any(n.startswith("fast profile") and "TF-IDF" in n for n in notes), notes
    params = _card(ws, "reviews-stars")["params"]
    assert (params["method"], params["chinese_method"]) == ("tfidf", "tfidf")
    reviews = ws.sql("SELECT count(*) AS n FROM reviews WHERE coalesce(body, title, '') <> ''")["n"][0]
    predicted = ws.sql("SELECT count(*) AS n FROM reviews_predictions")["n"][0]
    with_aspects = ws.sql("SELECT count(DISTINCT review_id) AS n FROM reviews_aspect_mentions")["n"][0]
    assert predicted == reviews > 40 >= with_aspects > 0  # every review scored; aspects of about 40
    baseline_notes = [m["protocol"]["notes"] for m in _card(ws, "reviews-stars")["metrics"] if m["role"] == "baseline"]
    assert baseline_notes and all("random 30 of the" in n for n in baseline_notes)


def test_the_assistant_indexes_fewer_review_sentences(capped: tuple, small_shop: sl.Workspace) -> None:
    ws, steps = capped
    assert any("newest reviews are indexed" in n for n in steps["assistant.train.customer-service assistant"].notes)
    from shoplens.assistant.api import model_folder
    from shoplens.assistant.base import SETTINGS_FILE
    from shoplens.assistant.knowledge import knowledge_passages

    settings = json.loads((model_folder(ws) / SETTINGS_FILE).read_text())
    assert settings["params"]["reviews_per_product"] == 1

    every = knowledge_passages(small_shop)
    assert 0 < settings["passages"]["review"] < int((every["kind"] == "review").sum())
    assert settings["passages"]["qa"] == int((every["kind"] == "qa").sum())


def test_forecast_leaves_autoces_out_and_backtests_a_sample(capped: tuple) -> None:
    ws, steps = capped
    assert any("AutoCES left out" in n for n in steps["forecast.train.fit forecaster"].notes)
    assert _card(ws, "forecast")["params"]["params"]["models"] == forecast_steps.FAST_MODELS
    backtest = steps["forecast.evaluate.backtest"]
    assert backtest.summary["series"] == 12 and any("random 12" in n for n in backtest.notes)


def test_recommend_evaluates_on_a_sample_of_customers(capped: tuple) -> None:
    ws, steps = capped
    evaluation = json.loads((Path(ws.path) / "reports" / "recommend_evaluation.json").read_text())
    assert evaluation and all("sample of 60 of the" in r["protocol"]["notes"] for r in evaluation)
    assert any("sample of 60" in n for n in steps["recommend.evaluate.recommender vs baselines"].notes)

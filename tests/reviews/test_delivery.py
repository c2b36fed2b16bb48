"""Review intelligence delivered: the pipeline steps (demo profile), the CLI, the REST API and the dashboard
page, on a simulated shop."""

from __future__ import annotations

import json

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

import shoplens as sl
from shoplens.cli import app as cli
from shoplens.pipeline import run
from shoplens.reviews.models import RatingModel
from shoplens.reviews.store import MENTIONS, PREDICTIONS, SUMMARY


@pytest.fixture(scope="module")
def trained(shop: sl.Workspace) -> sl.Workspace:
    results = run(shop, capabilities=["reviews"], profile="demo")
    assert [(r.name, r.status) for r in results] == [("train", "ok"), ("deploy", "ok")], results
    return shop


def test_pipeline_registers_deploys_and_stores(trained: sl.Workspace) -> None:
    from shoplens.registry import ModelRegistry

    deployed = ModelRegistry(trained).deployed()
    assert {"reviews-stars", "reviews-aspects"} <= set(deployed)
    card = deployed["reviews-stars"]
    roles = sorted(r["role"] for r in card.metrics)
    assert roles == ["baseline", "baseline", "ours"]
    assert all(r["dataset"] == "simulator_reviews_stars" for r in card.metrics)
    counts = trained.sql(f"SELECT (SELECT count(*) FROM {PREDICTIONS}) p, (SELECT count(*) FROM {MENTIONS}) m, "
                         f"(SELECT count(*) FROM {SUMMARY}) s").iloc[0]
    assert counts["p"] == trained.counts()["reviews"] and counts["m"] > 0 and counts["s"] > 0
    # the registered model predicts what was stored (save → load → identical predictions)
    stored = trained.sql(f"SELECT p.predicted_stars, r.title, r.body FROM {PREDICTIONS} p JOIN reviews r "
                         "USING (review_id) ORDER BY review_id LIMIT 25")
    from shoplens.reviews.data import review_text

    loaded = RatingModel.from_registry(trained)
    assert (loaded.predict(review_text(stored["title"], stored["body"]).tolist()) == stored["predicted_stars"]).all()


def test_cli_predict_aspects_evaluate(trained: sl.Workspace) -> None:
    runner = CliRunner()
    ws = str(trained.path)
    result = runner.invoke(cli, ["reviews", "predict", "-w", ws, "--json", "--explain",
                                 "Terrible quality, it broke after a day", "质量很好，非常满意"])
    assert result.exit_code == 0, result.output
    rows = json.loads(result.stdout)
    assert [r["stars"] in range(1, 6) for r in rows] == [True, True] and rows[0]["words"]
    result = runner.invoke(cli, ["reviews", "aspects", "-w", ws, "--json", "--by", "category"])
    assert result.exit_code == 0, result.output
    aspects = json.loads(result.stdout)["aspects"]
    assert aspects and {"mentions", "positive_quotes", "net"} <= set(aspects[0])
    result = runner.invoke(cli, ["reviews", "evaluate", "-w", ws, "--json", "--no-baselines"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["records"][0]["metrics"]["mae"] >= 0 and report["report"]["reviews-stars"]["confusion"]
    result = runner.invoke(cli, ["reviews", "predict", "-w", ws])
    assert result.exit_code == 1 and "give review texts" in result.output


def test_service_predict_aspects_and_page(trained: sl.Workspace) -> None:
    from shoplens.serve import create_app, create_key

    key = create_key(trained.path, "read", "tests")
    client = TestClient(create_app(trained.path))
    headers = {"Authorization": f"Bearer {key}"}
    answer = client.post("/api/v1/reviews/predict", headers=headers,
                         json={"texts": ["Runs small and the zipper broke", "物流很快"], "explain": True})
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["model"] == "reviews-stars" and len(body["predictions"]) == 2
    assert body["predictions"][0]["words"] and body["predictions"][0]["sentiment"] in ("negative", "neutral",
                                                                                       "positive")
    assert client.post("/api/v1/reviews/predict", headers=headers, json={"texts": []}).status_code == 422
    assert client.post("/api/v1/reviews/predict", headers=headers, json={"texts": ["x" * 6000]}).status_code == 422
    assert client.post("/api/v1/reviews/predict", json={"texts": ["x"]}).status_code == 401
    product = trained.sql(f"SELECT key FROM {SUMMARY} WHERE level = 'product' ORDER BY mentions DESC LIMIT 1")
    found = client.get(f"/api/v1/reviews/products/{product['key'][0]}/aspects", headers=headers)
    assert found.status_code == 200 and found.json()["aspects"] and found.json()["summary"].startswith("Customers")
    assert client.get("/api/v1/reviews/products/NOPE/aspects", headers=headers).status_code == 404
    series = client.get("/api/v1/reviews/sentiment", headers=headers).json()
    assert sum(p["reviews"] for p in series) == trained.counts()["reviews"]
    page = client.get(f"/reviews?key={key}", follow_redirects=True)
    assert page.status_code == 200 and "<svg" in page.text and 'data-testid="explained"' in page.text
    assert "<mark class='why-" in page.text


def test_a_shop_without_reviews_is_not_a_failed_run(workspace: sl.Workspace) -> None:
    results = run(workspace, capabilities=["reviews"], profile="demo")
    assert [r.status for r in results] == ["skipped", "skipped"]
    assert "no reviews" in results[0].error


def test_one_pass_of_the_model_scores_a_chunk_as_the_separate_calls_do(trained: sl.Workspace) -> None:
    """predict_chunk runs the model once per chunk; its stars, sentiment and probabilities are those of predict,
    sentiment_proba and predict_sentiment (three passes)."""
    import numpy as np

    from shoplens.reviews.data import from_workspace
    from shoplens.reviews.store import predict_chunk

    model = RatingModel.from_registry(trained)
    frame = from_workspace(trained).head(80)
    texts, languages = frame["text"].tolist(), frame["language"].tolist()
    out = predict_chunk(frame, model, None)
    assert out["predicted_stars"].tolist() == model.predict(texts, languages).tolist()
    assert out["sentiment"].tolist() == model.predict_sentiment(texts, languages).tolist()
    np.testing.assert_array_equal(out[["p_negative", "p_neutral", "p_positive"]].to_numpy(),
                                  model.sentiment_proba(texts, languages))

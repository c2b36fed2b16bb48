"""The recommend capability end to end on a small simulated shop of its own: pipeline steps, CLI, Python API,
REST endpoints and the dashboard page, with real keys and the real app."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

import shoplens as sl
from shoplens.cli import app as cli_app
from shoplens.pipeline import RunContext
from shoplens.recommend import api
from shoplens.serve import ServiceSettings, create_app, create_key


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory) -> sl.Workspace:
    """A small simulated shop that went through the recommend pipeline steps (train, evaluate, deploy)."""
    from shoplens.data.synth import simulate
    from shoplens.recommend import steps

    ws = sl.Workspace.init(tmp_path_factory.mktemp("recommend") / "ws", name="rec shop")
    simulate(n_customers=300, n_products=50, days=150, seed=3).write(ws)
    ctx = RunContext(ws=ws, profile="demo")
    for run in (steps.train_recommender, steps.evaluate_recommender, steps.deploy_recommender):
        summary = run(ctx)
        assert "skipped" not in summary, summary
    return ws


def test_pipeline_scored_every_customer_with_reasons(shop: sl.Workspace) -> None:
    stored = shop.sql(f"SELECT * FROM {api.TOP_K_TABLE}")
    customers = shop.sql("SELECT count(DISTINCT customer_id) AS n FROM interactions WHERE weight > 0")["n"].iloc[0]
    assert stored["customer_id"].nunique() == customers
    assert stored["reason"].str.len().gt(0).all() and stored["rank"].max() == 10
    evaluation = api.latest_evaluation(shop)
    assert {r["model"] for r in evaluation} == {"auto", "popularity", "itemknn", "ease"}
    assert all(r["protocol"]["split"] == "per_user_stratified" for r in evaluation)
    ours = next(r for r in evaluation if r["model"] == "auto")["metrics"]["ndcg@10"]
    popular = next(r for r in evaluation if r["model"] == "popularity")["metrics"]["ndcg@10"]
    assert ours > popular


def test_the_pipeline_chose_on_validation_and_says_so(shop: sl.Workspace) -> None:
    from shoplens.registry import ModelRegistry

    card = ModelRegistry(shop).card(api.REGISTRY_NAME)
    assert card.params["model"] == "auto" and card.params["time_budget"] == api.DEMO_TIME_BUDGET
    scored = [r for r in card.params["selection"] if "ndcg@10" in r]
    assert {"popularity", "itemknn", "ease", "session_ease"} <= {r["candidate"] for r in scored}
    chosen = next(r for r in scored if r["candidate"] == card.params["chosen"])
    assert chosen["ndcg@10"] == max(r["ndcg@10"] for r in scored)
    assert f"chose {card.params['chosen']} on validation" in card.notes
    assert api.load(shop).chosen_ == card.params["chosen"]


def test_cli_for_user_similar_together_and_errors(shop: sl.Workspace) -> None:
    runner = CliRunner()
    customer = shop.sql(f"SELECT customer_id FROM {api.TOP_K_TABLE} ORDER BY customer_id LIMIT 1").iloc[0, 0]
    result = runner.invoke(cli_app, ["recommend", "for-user", customer, "-k", "4", "-w", str(shop.path), "--json"])
    assert result.exit_code == 0, result.output
    rows = json.loads(result.stdout)
    assert [r["rank"] for r in rows] == [1, 2, 3, 4] and all(r["reason"] for r in rows)
    assert rows == json.loads(api.for_user(shop, customer, 4).to_json(orient="records"))
    product = rows[0]["product_id"]
    similar = runner.invoke(cli_app, ["recommend", "similar", product, "-w", str(shop.path), "--json"])
    assert similar.exit_code == 0 and product not in {r["product_id"] for r in json.loads(similar.stdout)}
    together = runner.invoke(cli_app, ["recommend", "together", product, "-w", str(shop.path), "--json"])
    assert together.exit_code == 0, together.output
    bad = runner.invoke(cli_app, ["recommend", "similar", "no-such-product", "-w", str(shop.path)])
    assert bad.exit_code == 1 and "unknown product 'no-such-product'" in bad.output
    bad_model = runner.invoke(cli_app, ["recommend", "evaluate", "--model", "nope", "-w", str(shop.path)])
    assert bad_model.exit_code == 1 and "unknown model 'nope'" in bad_model.output


def test_service_endpoints_and_page(shop: sl.Workspace) -> None:
    key = create_key(shop, "read", "reader")
    headers = {"Authorization": f"Bearer {key}"}
    customer = shop.sql(f"SELECT customer_id FROM {api.TOP_K_TABLE} ORDER BY customer_id LIMIT 1").iloc[0, 0]
    with TestClient(create_app(shop.path, settings=ServiceSettings()), follow_redirects=False) as client:
        answer = client.get(f"/api/v1/recommend/customers/{customer}?k=5", headers=headers)
        assert answer.status_code == 200
        body = answer.json()
        assert len(body["items"]) == 5 and all(i["reason"] for i in body["items"])
        assert [i["product_id"] for i in body["items"]] == api.for_user(shop, customer, 5)["product_id"].tolist()
        history = client.get(f"/api/v1/recommend/customers/{customer}/history?limit=500", headers=headers).json()
        seen = set(shop.sql("SELECT product_id FROM interactions WHERE customer_id = ? AND weight > 0",
                            [customer])["product_id"])
        assert {i["product_id"] for i in history["items"]} == seen
        assert seen.isdisjoint(i["product_id"] for i in body["items"])  # nothing already seen is recommended
        summary = client.get("/api/v1/recommend/model", headers=headers).json()
        assert summary["model"] == "auto" and summary["params"]["selection"]
        assert client.get(f"/api/v1/recommend/customers/{customer}").status_code == 401
        assert client.get("/api/v1/recommend/products/nope/similar", headers=headers).status_code == 404
        assert client.get("/api/v1/recommend/customers/nobody/history", headers=headers).status_code == 404
        assert client.get(f"/api/v1/recommend/customers/{customer}?k=0", headers=headers).status_code == 422
        signed_in = client.post("/login", data={"key": key, "next": "/recommend"})
        assert signed_in.status_code == 303
        page = client.get("/recommend")
        most_active = api.active_customers(shop, 1)["customer_id"].iloc[0]
        assert page.status_code == 200 and f"customer_id={most_active}" in page.text
        assert "auto" in page.text and 'data-testid="selection"' in page.text
        detail = client.get(f"/recommend/customer?customer_id={customer}")
        assert detail.status_code == 200
        for item in body["items"]:
            assert item["product_id"] in detail.text
        assert "because you" in detail.text or "popular in" in detail.text
        assert client.get("/recommend/customer?customer_id=nobody").status_code == 404


def test_cli_train_chooses_among_the_given_candidates_and_lists_them(shop: sl.Workspace) -> None:
    result = CliRunner().invoke(cli_app, ["recommend", "train", "-p", 'candidates=["popularity", "ease"]',
                                          "-p", "time_budget=60", "--no-deploy", "-w", str(shop.path), "--json"])
    assert result.exit_code == 0, result.output
    card = json.loads(result.stdout)
    assert card["params"]["model"] == "auto"
    scored = {r["candidate"]: r["ndcg@10"] for r in card["params"]["selection"]}
    assert {"popularity", "ease"} <= set(scored) and scored[card["params"]["chosen"]] == max(scored.values())
    assert {m["model"] for m in card["metrics"]} == {"auto", "popularity"}  # evaluated on 75/25 before the refit


def test_training_is_registered_with_metrics(shop: sl.Workspace, tmp_path: Path) -> None:
    card = api.train(shop, "ease", params={"lam": 50.0})
    assert card.params["model"] == "ease" and card.params["lam"] == 50.0
    assert {m["model"] for m in card.metrics} == {"ease", "popularity"}
    loaded = api.load(shop, card.version)
    assert loaded.name == "ease" and loaded.lam == 50.0


def test_report_section(shop: sl.Workspace, tmp_path: Path) -> None:
    from shoplens.report import build_report

    page = build_report(shop, path=tmp_path / "report.html").read_text(encoding="utf-8")
    assert "Recommendations" in page and "auto" in page and "How the model was chosen" in page
    assert "per-user stratified 75/25" in page           # the evaluation names its protocol
    assert "because you" in page or "popular in" in page  # examples carry their explanations

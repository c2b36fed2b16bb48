"""Delivery: the CLI commands, the REST endpoints and dashboard page, the report section and the pipeline
steps, on a small simulated shop with a trained forecaster and a stored plan."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

import shoplens as sl
from shoplens.cli import app
from shoplens.forecast.store import read_forecast, read_plan
from shoplens.serve import create_key
from tests.serve.conftest import auth, make_client

runner = CliRunner()


def test_stored_forecast_and_plan_agree(planned_shop: sl.Workspace) -> None:
    forecast, plan = read_forecast(planned_shop), read_plan(planned_shop)
    assert set(plan["unique_id"]) == set(forecast["unique_id"])
    assert {"y_lo_80", "y_hi_95", "model_version"} <= set(forecast.columns)
    assert (plan["order_up_to"] >= plan["reorder_point"] - 1e-9).all()
    # stock comes from the inventory table: a product is flagged exactly when its position is at or below
    # its reorder point
    assert ((plan["inventory_position"] <= plan["reorder_point"]) == plan["order_now"]).all()


def test_cli_predict_plan_and_errors(planned_shop: sl.Workspace, tmp_path: Path) -> None:
    some = read_plan(planned_shop)["unique_id"].iloc[0]
    result = runner.invoke(app, ["forecast", "predict", "-w", str(planned_shop.path), "-p", some, "--json"])
    assert result.exit_code == 0, result.output
    rows = json.loads(result.stdout)
    assert {r["unique_id"] for r in rows} == {some} and rows[0]["y-lo-80"] <= rows[0]["y"] <= rows[0]["y-hi-80"]
    shown = runner.invoke(app, ["forecast", "predict", "-w", str(planned_shop.path), "-p", some])
    assert shown.exit_code == 0 and "forecast" in shown.stdout
    missing = runner.invoke(app, ["forecast", "predict", "-w", str(planned_shop.path), "-p", "nope"])
    assert missing.exit_code == 1 and "no forecast for nope" in missing.output
    empty = sl.Workspace.init(tmp_path / "empty")
    untrained = runner.invoke(app, ["inventory", "plan", "-w", str(empty.path)])
    assert untrained.exit_code == 1 and "shoplens forecast train" in untrained.output
    no_sales = runner.invoke(app, ["forecast", "train", "-w", str(empty.path)])
    assert no_sales.exit_code == 1 and "daily_sales is empty" in no_sales.output


def test_cli_train_backtest_plan_on_own_shop(tmp_path: Path) -> None:
    from shoplens.data.synth import simulate

    ws = sl.Workspace.init(tmp_path / "shop")
    simulate(n_customers=1000, n_products=20, days=150, seed=5).write(ws)
    trained = runner.invoke(app, ["forecast", "train", "--demo", "-w", str(ws.path), "--json"])
    assert trained.exit_code == 0, trained.output
    products = ws.sql("SELECT count(DISTINCT product_id) AS n FROM daily_sales")["n"].iloc[0]
    assert json.loads(trained.stdout)["series"] == products
    tested = runner.invoke(app, ["forecast", "backtest", "--demo", "--windows", "2", "-w", str(ws.path), "--json"])
    assert tested.exit_code == 0, tested.output
    models = [row["model"] for row in json.loads(tested.stdout)["summary"]]
    assert models[0] == "shoplens" and "SeasonalNaive" in models
    planned = runner.invoke(app, ["inventory", "plan", "--service-level", "0.9", "--lead-time-days", "5",
                                  "-w", str(ws.path), "--json"])
    assert planned.exit_code == 0, planned.output
    assert {r["lead_time_days"] for r in json.loads(planned.stdout)} == {5}
    bad = runner.invoke(app, ["inventory", "plan", "--service-level", "95", "-w", str(ws.path)])
    assert bad.exit_code == 1 and "0.95, not 95" in bad.output


def test_rest_endpoints_and_page(planned_shop: sl.Workspace) -> None:
    key = create_key(planned_shop, "read", "forecast tests")
    some = read_plan(planned_shop)["unique_id"].iloc[0]
    with make_client(planned_shop) as client:
        listed = client.get("/api/v1/forecast", headers=auth(key)).json()
        one = client.get(f"/api/v1/forecast/{some}?history_days=14", headers=auth(key)).json()
        plan = client.get("/api/v1/inventory/plan?limit=5", headers=auth(key)).json()
        unknown = client.get("/api/v1/forecast/nope", headers=auth(key))
        anonymous = client.get("/api/v1/inventory/plan")
        page = client.get(f"/forecast?key={key}", follow_redirects=True)
    assert listed["total"] == len(read_plan(planned_shop)) and listed["series"][0]["total"] > 0
    assert one["unique_id"] == some and len(one["history"]) == 14 and one["forecast"][0]["y_hi_95"] is not None
    assert len(plan["rows"]) == 5 and plan["total"] == listed["total"]
    assert unknown.status_code == 404 and "no forecast" in unknown.json()["detail"]
    assert anonymous.status_code == 401
    assert page.status_code == 200 and "<svg" in page.text and 'data-testid="plan"' in page.text


def test_endpoints_before_training_answer_404_not_500(tmp_path: Path) -> None:
    ws = sl.Workspace.init(tmp_path / "ws")
    key = create_key(ws, "read", "t")
    with make_client(ws) as client:
        for path in ("/api/v1/forecast", "/api/v1/forecast/P1", "/api/v1/inventory/plan"):
            answer = client.get(path, headers=auth(key))
            assert answer.status_code == 404 and "run `shoplens" in answer.json()["detail"], path
        page = client.get(f"/forecast?key={key}", follow_redirects=True)
    assert page.status_code == 200 and "No forecast yet" in page.text


def test_report_section(planned_shop: sl.Workspace, tmp_path: Path) -> None:
    from shoplens.report import build_report

    page = build_report(planned_shop, path=tmp_path / "report.html").read_text(encoding="utf-8")
    assert "Demand forecast and inventory" in page and "Reorder table" in page


@pytest.mark.parametrize("profile", ["demo"])
def test_pipeline_steps_run_and_deploy(profile: str, tmp_path: Path) -> None:
    from shoplens.data.synth import simulate
    from shoplens.pipeline import run
    from shoplens.registry import ModelRegistry

    ws = sl.Workspace.init(tmp_path / "shop")
    simulate(n_customers=800, n_products=20, days=150, seed=2).write(ws)
    results = run(ws, ["forecast"], profile=profile)
    assert [r.status for r in results] == ["ok", "ok", "ok"], [r.error for r in results]
    assert "forecast" in ModelRegistry(ws).deployed()
    assert results[1].summary["mase"] > 0 and results[2].summary["products_planned"] > 0

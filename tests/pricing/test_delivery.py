"""Delivery: the CLI commands, the pipeline steps, the REST endpoints, the dashboard page and the report
section, on a small simulated shop (real warehouse, real registry, real app)."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

import shoplens as sl
from shoplens.cli import app
from shoplens.pipeline import run
from shoplens.pricing.store import load_bundle
from shoplens.report import build_report
from shoplens.serve import ServiceSettings, create_app, create_key

runner = CliRunner()


def invoke(*args: str) -> tuple[int, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.output


def test_cli_elasticity_optimize_plan_analyze_identify(delivery_ws: sl.Workspace, tmp_path: Path) -> None:
    ws = str(delivery_ws.path)
    code, out = invoke("pricing", "elasticity", "-w", ws, "--json")
    assert code == 0, out
    result = json.loads(out)
    assert result["summary"]["identified"] >= 30 and len(result["products"]) == 40
    assert result["summary"]["elasticity_mae"] is not None  # simulated shop: scored against its truth
    code, out = invoke("pricing", "elasticity", "-w", ws)
    assert code == 0 and "Registered as pricing/" in out
    prices = tmp_path / "prices.csv"
    code, out = invoke("pricing", "optimize", "-w", ws, "--margin-floor", "0.2", "--max-change", "0.05",
                       "--endings", "0.49,0.99", "--out", str(prices))
    assert code == 0, out
    suggested = pd.read_csv(prices)
    changed = suggested[suggested["change"].abs() > 1e-9]
    assert (changed["change"].abs() <= 0.05 + 1e-9).all()
    assert changed["suggested_price"].mod(1).round(2).isin([0.49, 0.99]).all()
    code, out = invoke("pricing", "optimize", "-w", ws, "--json", "--objective", "revenue", "--endings", "any")
    assert code == 0 and json.loads(out)["constraints"]["objective"] == "revenue"
    schedule = tmp_path / "schedule.csv"
    code, out = invoke("pricing", "plan-test", "-w", ws, "--price-change", "0.2", "--json")
    assert code == 0 and json.loads(out)["design"] == "switchback"
    code, out = invoke("pricing", "plan-test", "P00001", "P00002", "-w", ws, "--price-change", "0.2",
                       "--detectable-elasticity", "2", "--start", "2025-01-06", "--out", str(schedule))
    assert code == 0, out
    assert set(pd.read_csv(schedule)["arm"]) == {"control", "treatment"}
    code, out = invoke("pricing", "analyze-test", str(schedule), "-w", ws, "--json")
    assert code == 0 and json.loads(out)["products"] == 2  # days after the sales history: no sales, both arms
    code, out = invoke("pricing", "identify", "-w", ws)
    assert code == 0 and "Can identify:" in out


def test_cli_errors_are_one_line(delivery_ws: sl.Workspace, tmp_path: Path) -> None:
    ws = str(delivery_ws.path)
    code, out = invoke("pricing", "optimize", "-w", ws)
    assert code == 1 and "no pricing model" in out and "Traceback" not in out
    code, out = invoke("pricing", "elasticity", "-w", ws, "--method", "magic")
    assert code == 1 and "method 'magic'" in out
    code, out = invoke("pricing", "analyze-test", str(tmp_path / "missing.csv"), "-w", ws)
    assert code == 1 and "assignment file not found" in out


def test_pipeline_steps_register_and_deploy_then_the_report_shows_them(delivery_ws: sl.Workspace) -> None:
    results = run(delivery_ws, ["pricing"], profile="demo")
    assert [r.status for r in results] == ["ok", "ok"], [r.error for r in results]
    train, deploy = results
    assert train.summary["identified"] > 0 and deploy.summary["deployed"].startswith("pricing/")
    bundle = load_bundle(delivery_ws)
    assert bundle.version == train.summary["version"] and bundle.suggestions is not None
    assert bundle.evaluation["summary"]["constraint_violations"] == 0
    page = build_report(delivery_ws).read_text(encoding="utf-8")
    assert "Pricing" in page and "Suggested prices" in page and "Can identify" in page


def test_a_shop_without_product_sales_is_not_applicable(workspace: sl.Workspace, tmp_path: Path) -> None:
    path = tmp_path / "o.csv"
    path.write_text("order_id,order_ts,total_amount\nA,2024-01-01,5\n", encoding="utf-8")
    workspace.ingest("orders", path)
    results = run(workspace, ["pricing"], profile="demo")
    assert [r.status for r in results] == ["skipped", "skipped"]
    assert "no product sales" in results[0].error and results[1].error == results[0].error


def test_a_shop_whose_prices_never_moved_is_not_applicable(workspace: sl.Workspace) -> None:
    days = pd.date_range("2024-01-01", periods=150)
    frame = pd.DataFrame({"order_id": [f"O{i}" for i in range(len(days))], "order_ts": days, "line_no": 1,
                          "product_id": ["P1", "P2"] * (len(days) // 2), "quantity": 2, "unit_price": 4.99})
    workspace.ingest("orders", frame[["order_id", "order_ts"]])
    workspace.ingest("order_items", frame[["order_id", "line_no", "product_id", "quantity", "unit_price"]])
    results = run(workspace, ["pricing"], profile="full")
    assert results[0].status == "skipped" and "no price variation" in results[0].error, results[0].error
    assert "2 products" in results[0].error


@pytest.fixture
def client_and_key(delivery_ws: sl.Workspace) -> tuple[TestClient, str, sl.Workspace]:
    key = create_key(delivery_ws, "read", "analyst")
    client = TestClient(create_app(delivery_ws.path, settings=ServiceSettings()), follow_redirects=False)
    return client, key, delivery_ws


def test_service_answers_404_before_a_model_and_serves_it_after(client_and_key: tuple) -> None:
    client, key, ws = client_and_key
    headers = {"Authorization": f"Bearer {key}"}
    assert client.get("/api/v1/pricing").status_code == 401
    missing = client.get("/api/v1/pricing/elasticities", headers=headers)
    assert missing.status_code == 404 and "shoplens pricing elasticity" in missing.json()["detail"]
    run(ws, ["pricing"], profile="demo")
    summary = client.get("/api/v1/pricing", headers=headers).json()
    assert summary["statuses"]["identified"] > 0 and summary["evaluation"]["constraint_violations"] == 0
    page = client.get("/api/v1/pricing/elasticities", params={"status": "identified", "limit": 5},
                      headers=headers).json()
    assert len(page["rows"]) == 5 and page["total"] == summary["statuses"]["identified"]
    first = page["rows"][0]
    assert first["lower"] < first["elasticity"] < first["upper"]
    one = client.get(f"/api/v1/pricing/elasticities/{first['product_id']}", headers=headers).json()
    assert one["elasticity"] == pytest.approx(first["elasticity"])
    assert client.get("/api/v1/pricing/elasticities/nope", headers=headers).status_code == 404
    assert client.get("/api/v1/pricing/categories", headers=headers).json()["total"] > 0
    assert client.get("/api/v1/pricing/suggestions", headers=headers).json()["total"] > 0
    assert client.get("/api/v1/pricing/cross-effects", headers=headers).status_code == 200
    assert "can" in client.get("/api/v1/pricing/identification", headers=headers).json()
    fresh = client.post("/api/v1/pricing/optimize", json={"max_change": 0.05, "margin_floor": 0.3}, headers=headers)
    assert fresh.status_code == 200
    assert all(abs(p["change"]) <= 0.05 + 1e-9 for p in fresh.json()["products"])
    assert client.post("/api/v1/pricing/optimize", json={"max_change": 5}, headers=headers).status_code == 422
    plan = client.post("/api/v1/pricing/plan-test", json={"price_change": 0.2}, headers=headers)
    assert plan.status_code == 200 and plan.json()["design"] == "switchback"
    unknown = client.post("/api/v1/pricing/plan-test", json={"products": ["nope"]}, headers=headers)
    assert unknown.status_code == 404


def test_dashboard_page_shows_intervals_and_suggestions(client_and_key: tuple) -> None:
    client, key, ws = client_and_key
    assert client.get(f"/pricing?key={key}").status_code == 303  # signs in: the client keeps the cookie
    assert "Nothing computed yet" in client.get("/pricing").text
    run(ws, ["pricing"], profile="demo")
    html = client.get("/pricing").text
    bundle = load_bundle(ws)
    best = bundle.elasticities[bundle.elasticities["status"] == "identified"].sort_values(
        ["units", "product_id"], ascending=[False, True]).iloc[0]
    assert f'data-product="{best["product_id"]}"' in html and f"{best['elasticity']:.2f}" in html
    assert "<svg" in html and 'data-testid="suggestions"' in html and "Cannot identify" in html
    assert "<script" not in html.split("<main>")[1]


def test_pricing_endpoints_conform_to_their_schema_with_a_model(delivery_ws: sl.Workspace) -> None:
    """Schemathesis on the pricing operations once a model exists (the service-wide fuzz test sees 404s)."""
    schemathesis = pytest.importorskip("schemathesis")
    from schemathesis.generation import GenerationMode

    from tests.serve.test_openapi_fuzz import check_operation, has_inputs

    run(delivery_ws, ["pricing"], profile="demo")
    key = create_key(delivery_ws, "read", "fuzz")
    app = create_app(delivery_ws.path, settings=ServiceSettings())
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    operations = [r.ok() for r in schema.get_all_operations() if r.ok().path.startswith("/api/v1/pricing")]
    assert len(operations) == 9
    for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
        for operation in operations:
            if mode == GenerationMode.NEGATIVE and not has_inputs(operation):
                continue
            check_operation(operation, mode, {"Authorization": f"Bearer {key}"})

"""The analytics router and dashboard pages, with the real app, keys and a real warehouse."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient

import shoplens as sl
from shoplens import analytics
from shoplens.analytics.results import fit_rules
from shoplens.serve import create_app, create_key
from tests.analytics.conftest import copy_workspace


@pytest.fixture(scope="module")
def analysed(small_shop: sl.Workspace, tmp_path_factory: pytest.TempPathFactory) -> sl.Workspace:
    """A copy of the simulated shop with every analysis stored (as `shoplens analyze all` leaves it)."""
    from shoplens.analytics.steps import analyze_everything

    ws = copy_workspace(small_shop, tmp_path_factory.mktemp("service") / "ws")
    analyze_everything(ws, "demo")
    analytics.kpis(ws, "week")
    fit_rules(ws, min_support=0.02)
    return ws


def client_for(ws: sl.Workspace) -> tuple[TestClient, dict[str, str], str]:
    key = create_key(ws, "read", "analyst")
    return TestClient(create_app(ws.path), follow_redirects=False), {"Authorization": f"Bearer {key}"}, key


def test_results_as_json_equal_the_warehouse(analysed: sl.Workspace) -> None:
    client, auth, _ = client_for(analysed)
    listed = {t["name"]: t["rows"] for t in client.get("/api/v1/analytics", headers=auth).json()["tables"]}
    assert {"analytics_rfm", "analytics_cohorts", "analytics_funnel", "analytics_clv"} <= set(listed)
    segments = client.get("/api/v1/analytics/rfm/segments", headers=auth).json()
    stored = analysed.sql("SELECT segment, customers FROM analytics_rfm_segments ORDER BY rank")
    assert [(r["segment"], r["customers"]) for r in segments["rows"]] == list(stored.itertuples(index=False, name=None))
    lost = client.get("/api/v1/analytics/rfm/customers", params={"segment": "lost", "limit": 5}, headers=auth).json()
    assert lost["total"] == int(stored.set_index("segment").loc["lost", "customers"])
    assert all(r["segment"] == "lost" for r in lost["rows"]) and len(lost["rows"]) <= 5
    kpis = client.get("/api/v1/analytics/kpis", params={"grain": "month", "dimension": "channel"}, headers=auth).json()
    assert kpis["rows"] and {r["dimension"] for r in kpis["rows"]} == {"channel"}
    funnel = client.get("/api/v1/analytics/funnel", params={"segment": "all"}, headers=auth).json()
    assert [r["step_no"] for r in funnel["rows"]] == [1, 2, 3, 4]
    clv = client.get("/api/v1/analytics/clv/summary", headers=auth).json()
    assert clv["customers"] == listed["analytics_clv"] and clv["quantiles"]["p50"] is not None
    rules = client.get("/api/v1/analytics/baskets/rules", params={"limit": 3}, headers=auth).json()
    lifts = [r["lift"] for r in rules["rows"]]
    assert lifts == sorted(lifts, reverse=True) and isinstance(rules["rows"][0]["antecedents"], list)
    assert client.get("/api/v1/analytics/churn", headers=auth).json()["total"] > 0


def test_client_mistakes_are_4xx(analysed: sl.Workspace, workspace: sl.Workspace) -> None:
    client, auth, _ = client_for(analysed)
    assert client.get("/api/v1/analytics/rfm/segments").status_code == 401
    assert client.get("/api/v1/analytics/kpis", params={"grain": "year"}, headers=auth).status_code == 422
    assert client.get("/api/v1/analytics/clv", params={"limit": 0}, headers=auth).status_code == 422
    empty_client, empty_auth, _ = client_for(workspace)
    missing = empty_client.get("/api/v1/analytics/cohorts", headers=empty_auth)
    assert missing.status_code == 404 and "shoplens analyze cohorts" in missing.json()["detail"]


def test_dashboard_pages(analysed: sl.Workspace, workspace: sl.Workspace) -> None:
    client, _, key = client_for(analysed)
    assert client.get(f"/analytics/segments?key={key}").status_code == 303  # signs in, drops the key
    pages = {path: client.get(path) for path in ("/analytics/segments", "/analytics/cohorts", "/analytics/funnel",
                                                 "/analytics/clv")}
    assert all(page.status_code == 200 for page in pages.values())
    assert "<script" not in "".join(p.text for p in pages.values())  # charts are SVG: the CSP forbids scripts
    segments = analysed.sql("SELECT segment, customers FROM analytics_rfm_segments")
    html = pages["/analytics/segments"].text
    assert html.count("<rect") == int((segments["customers"] > 0).sum())  # one treemap box per segment
    for segment, customers in segments.itertuples(index=False):
        assert f'data-segment="{segment}"' in html.replace("&#39;", "'") and f"{customers:,}" in html
    assert 'data-testid="heatmap"' in pages["/analytics/cohorts"].text
    first_step = analysed.sql("SELECT entities FROM analytics_funnel WHERE segment = 'all' AND step_no = 1").iloc[0, 0]
    assert f"{first_step:,}" in pages["/analytics/funnel"].text
    assert "total CLV" in pages["/analytics/clv"].text
    empty_client, _, empty_key = client_for(workspace)
    empty_client.get(f"/analytics/clv?key={empty_key}")
    blank = empty_client.get("/analytics/clv")
    assert blank.status_code == 200 and "shoplens analyze clv" in blank.text


def test_report_sections(analysed: sl.Workspace, tmp_path: Path) -> None:
    from shoplens.report import build_report

    page = build_report(analysed, path=tmp_path / "report.html").read_text(encoding="utf-8")
    for title in ("Sales KPIs", "Customer segments (RFM)", "Cohorts", "Conversion funnel",
                  "Customer lifetime value and churn", "Market baskets"):
        assert f">{title}<" in page

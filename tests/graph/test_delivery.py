"""The graph in the rest of shoplens: the pipeline step builds it, the report shows a product's neighbourhood,
and forgetting a customer removes their Customer node and BOUGHT relations."""

from __future__ import annotations

import shoplens as sl
from shoplens.graph import GraphStore
from shoplens.graph.report import graph_section
from shoplens.graph.steps import build_graph
from shoplens.pipeline import RunContext


def test_pipeline_step_and_report(fresh_shop: sl.Workspace) -> None:
    summary = build_graph(RunContext(ws=fresh_shop, profile="demo"))
    with GraphStore.of(fresh_shop) as store:
        stats = store.stats()
    assert summary["nodes"] == sum(stats["nodes"].values()) and summary["relations"] == sum(stats["relations"].values())
    assert stats["relations"]["SIMILAR_TO"] == 5 * stats["nodes"]["Product"]
    assert "missing MENTIONS" in summary  # the aspect model did not run in this shop: said so
    page = graph_section(fresh_shop)
    assert page is not None and "Neighbourhood of" in page and "BOUGHT_TOGETHER" in page


def test_forgetting_a_customer_removes_them_from_the_graph(fresh_shop: sl.Workspace) -> None:
    with GraphStore.of(fresh_shop) as store:
        customer, bought = store.query("MATCH (c:Customer)-[b:BOUGHT]->() RETURN c.id, count(b) AS n "
                                       "ORDER BY n DESC, c.id LIMIT 1").rows[0]
        before = store.stats()
    report = fresh_shop.forget(customer)
    assert any(c.place == "graph" and c.count == 1 for c in report.cleaned)
    with GraphStore.of(fresh_shop) as store:
        assert store.query("MATCH (c:Customer) WHERE c.id = $id RETURN c", {"id": customer}).rows == []
        after = store.stats()
    assert after["nodes"]["Customer"] == before["nodes"]["Customer"] - 1
    assert after["relations"]["BOUGHT"] == before["relations"]["BOUGHT"] - bought
    assert after["relations"]["BOUGHT_TOGETHER"] == before["relations"]["BOUGHT_TOGETHER"]


def test_demo_run_builds_the_graph_and_reports_it(demo_shop: sl.Workspace, tmp_path) -> None:
    """``shoplens run --profile demo`` (the session's demo shop): the graph is built with every source the
    demo has, aspects included, and the report has its section; erasure takes a reviewer's ids out of MENTIONS."""
    from tests.conftest import copy_workspace

    with GraphStore.of(demo_shop) as store:
        stats = store.stats()
    assert stats["missing"] == {}
    assert all(stats["relations"][r] > 0 for r in ("BOUGHT_TOGETHER", "VIEWED_TOGETHER", "SIMILAR_TO", "MENTIONS"))
    report = (demo_shop.path / "reports" / "latest.html").read_text(encoding="utf-8")
    assert "Product graph" in report and "Neighbourhood of" in report

    ws = copy_workspace(demo_shop, tmp_path)
    with GraphStore.of(ws) as store:
        quoted = store.query("MATCH ()-[m:MENTIONS]->() UNWIND m.example_review_ids AS r RETURN collect(r)").rows
    review, author = ws.sql("SELECT review_id, customer_id FROM reviews WHERE customer_id IS NOT NULL "
                            "AND list_contains(?, review_id) ORDER BY review_id LIMIT 1", [quoted[0][0]]).iloc[0]
    ws.forget(author)
    with GraphStore.of(ws) as store:
        after = store.query("MATCH ()-[m:MENTIONS]->() UNWIND m.example_review_ids AS r RETURN collect(r)").rows
        assert review in quoted[0][0] and review not in after[0][0]
        assert store.query("MATCH (c:Customer) WHERE c.id = $id RETURN c", {"id": author}).rows == []

"""Building the graph from the warehouse: every table filled from its source, the numbers equal to the
warehouse's, idempotent, and swapped in whole (a failed build leaves the previous graph usable)."""

from __future__ import annotations

from pathlib import Path

import pytest

import shoplens as sl
from shoplens.errors import NotFound
from shoplens.graph import GraphStore, ProductGraph, schema
from shoplens.graph.folder import GraphNotBuilt, graph_folder


def _store(ws: sl.Workspace) -> GraphStore:
    return GraphStore(graph_folder(ws))


def test_every_table_is_filled_from_its_source(graph_shop: sl.Workspace) -> None:
    with _store(graph_shop) as store:
        stats = store.stats()
    nodes, rels = stats["nodes"], stats["relations"]
    assert set(nodes) == set(schema.NODE_NAMES) and set(rels) == set(schema.REL_NAMES)
    assert nodes["Product"] == graph_shop.counts()["products"]
    for filled in ("Category", "Brand", "Customer", "Attribute", "Question"):
        assert nodes[filled] > 0, filled
    for filled in ("IN_CATEGORY", "SUBCATEGORY_OF", "MADE_BY", "HAS_ATTRIBUTE", "BOUGHT", "BOUGHT_TOGETHER",
                   "VIEWED_TOGETHER", "SIMILAR_TO", "ABOUT"):
        assert rels[filled] > 0, filled
    # the simulator has no Amazon meta and no external triples; the aspect model did not run: said, not faked
    assert rels["ALSO_BOUGHT"] == rels["RELATED"] == 0
    assert "MENTIONS" in stats["missing"] and rels["MENTIONS"] == 0


def test_purchases_and_pairs_match_the_warehouse(graph_shop: sl.Workspace) -> None:
    expected = graph_shop.sql("""
        SELECT o.customer_id, i.product_id, count(DISTINCT o.order_id) AS orders FROM order_items i
        JOIN orders o USING (order_id) WHERE o.customer_id IS NOT NULL AND i.quantity > 0
          AND coalesce(o.status, '') <> 'cancelled' GROUP BY 1, 2""")
    pairs = graph_shop.sql("SELECT item_a, item_b, orders, lift FROM analytics_pair_counts ORDER BY orders DESC")
    with _store(graph_shop) as store:
        bought = store.query("MATCH (c:Customer)-[b:BOUGHT]->(p:Product) RETURN c.id, p.id, b.orders",
                             limit=100_000).to_frame()
        top = pairs.iloc[0]
        together = store.query("MATCH (a:Product)-[t:BOUGHT_TOGETHER]->(b:Product) WHERE a.id = $a AND b.id = $b "
                               "RETURN t.orders, t.lift", {"a": top["item_a"], "b": top["item_b"]}).rows
        backwards = store.query("MATCH (a:Product)-[t:BOUGHT_TOGETHER]->(b:Product) WHERE a.id = $b AND b.id = $a "
                                "RETURN t.orders", {"a": top["item_a"], "b": top["item_b"]}).rows
        relations = store.stats()["relations"]
    assert len(bought) == len(expected) and bought["b.orders"].sum() == expected["orders"].sum()
    assert together == [[int(top["orders"]), pytest.approx(float(top["lift"]))]]
    assert backwards == [[int(top["orders"])]]
    assert relations["BOUGHT_TOGETHER"] == 2 * len(pairs)


def test_category_tree_and_similar_products(graph_shop: sl.Workspace) -> None:
    with _store(graph_shop) as store:
        # every product's category climbs to a top-level category
        orphans = store.query("MATCH (p:Product)-[:IN_CATEGORY]->(c:Category) WHERE NOT EXISTS { "
                              "MATCH (c)-[:SUBCATEGORY_OF*0..5]->(top:Category) WHERE top.level = 1 } "
                              "RETURN p.id").rows
        similar = store.query("MATCH (p:Product)-[s:SIMILAR_TO]->(o:Product) RETURN p.id, count(*), "
                              "max(s.cosine), min(s.rank)", limit=10_000).rows
    assert orphans == []
    assert {n for _, n, _, _ in similar} == {5}
    assert all(0 < top <= 1 and first == 1 for _, _, top, first in similar)


def test_a_rebuild_is_identical(fresh_shop: sl.Workspace) -> None:
    before = _snapshot(fresh_shop)
    ProductGraph(similar_k=5).fit(fresh_shop)
    assert _snapshot(fresh_shop) == before


def _snapshot(ws: sl.Workspace) -> tuple:
    with _store(ws) as store:
        counts = store.stats()
        rows = store.query("MATCH (a:Product)-[r]->(b) RETURN a.id, label(r), b.id ORDER BY a.id, label(r), b.id",
                           limit=100_000).rows
    return counts["nodes"], counts["relations"], rows


def test_a_failed_build_leaves_the_previous_graph(fresh_shop: sl.Workspace) -> None:
    before = _snapshot(fresh_shop)
    with pytest.raises(NotFound):  # fails after every source was written: while the text encoder loads
        ProductGraph(encoder="no-such-encoder").fit(fresh_shop)
    assert _snapshot(fresh_shop) == before
    assert [p.name for p in Path(fresh_shop.path).iterdir() if p.name.startswith(".graph")] == []


def test_no_graph_yet(workspace: sl.Workspace) -> None:
    with pytest.raises(GraphNotBuilt, match="no product graph built yet"):
        ProductGraph.open(workspace)


def test_save_and_load(graph_shop: sl.Workspace, tmp_path: Path) -> None:
    graph = ProductGraph.open(graph_shop)
    copy = ProductGraph.load(graph.save(tmp_path / "copy"))
    assert copy.get_params() == graph.get_params() == ProductGraph(similar_k=5).get_params()
    assert copy.stats()["relations"] == graph.stats()["relations"]
    assert copy.neighbours("P00001").equals(graph.neighbours("P00001"))


def test_evaluate_asks_graph_and_sql_the_same_two_hop_question(graph_shop: sl.Workspace) -> None:
    records = ProductGraph.open(graph_shop).evaluate(graph_shop, n_products=40, seed=3)
    ours, reference = (next(r for r in records if r.role == role) for role in ("ours", "reference"))
    assert (ours.model, reference.model) == ("ladybug-cypher", "duckdb-sql")
    assert ours.metrics["answers_agree"] == 1.0  # the same categories and counts for every product asked
    assert ours.protocol.candidates == "sampled:40" and "with co-purchases" in ours.protocol.notes
    assert ours.metrics["p50_ratio_to_reference"] == pytest.approx(ours.metrics["p50_ms"] / reference.metrics["p50_ms"])

"""Recommendation explanations that name a graph path (issue 10, item 5a): on the small simulated shop with its
graph built, every recommendation the service serves with a path names edges that exist in the LadybugDB file —
checked by a Cypher MATCH on a connection of its own, not through the code that found the paths."""

from __future__ import annotations

import html
import itertools
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import shoplens as sl
from shoplens.graph.folder import DATABASE_FILE, graph_folder
from shoplens.recommend import ItemKNN, api
from shoplens.recommend.graph_paths import (
    RULES,
    close_stores,
    explain_with_graph,
    graph_reasons,
    open_store,
    praised_aspects,
    praised_by_customer,
)
from shoplens.serve import create_key
from tests.conftest import copy_workspace
from tests.serve.conftest import auth, make_client

CUSTOMERS = 25  # served customers: enough for several kinds of path, small enough to stay fast


@pytest.fixture(autouse=True)
def _closed() -> Iterator[None]:
    yield
    close_stores()  # the cached graphs of this module's workspaces are not kept past a test


class Edges:
    """Edges of the real graph file, looked up one by one with a Cypher MATCH on a read-only connection."""

    def __init__(self, ws: sl.Workspace) -> None:
        import ladybug

        self.database = ladybug.Database(str(graph_folder(ws) / DATABASE_FILE), read_only=True)
        self.connection = ladybug.Connection(self.database)

    def close(self) -> None:
        self.connection.close()
        self.database.close()

    def find(self, edge: dict[str, Any]) -> list[dict[str, Any]]:
        """The relations stored as ``source -relation-> target`` (their properties)."""
        source, target = edge["source"], edge["target"]
        cypher = (f"MATCH (a:{source['table']})-[e:{edge['relation']}]->(b:{target['table']}) "
                  "WHERE a.id = $a AND b.id = $b RETURN e")
        result = self.connection.execute(cypher, {"a": source["id"], "b": target["id"]})
        rows = []
        while result.has_next():
            rows.append(result.get_next()[0])
        return rows

    def check(self, path: list[dict[str, Any]], customer: str) -> None:
        """Every edge exists with the properties the path carries; the path runs from the customer, edge to
        edge, to the recommended product."""
        assert path[0]["source"] == {"table": "Customer", "id": customer, "name": customer}
        assert path[0]["relation"] == "BOUGHT"
        for edge in path:
            stored = self.find(edge)
            assert stored, f"no such edge in the graph: {edge}"
            assert any(all(same(one.get(name), value) for name, value in edge["properties"].items())
                       for one in stored), (edge, stored)
        for before, after in itertools.pairwise(path):  # consecutive edges share a node
            assert {before["source"]["id"], before["target"]["id"]} & {after["source"]["id"], after["target"]["id"]}


def same(stored: Any, shown: Any) -> bool:
    return stored == pytest.approx(shown, rel=1e-3) if isinstance(shown, float) else stored == shown


def buyers(ws: sl.Workspace, limit: int) -> list[str]:
    return ws.sql("SELECT customer_id FROM orders GROUP BY 1 ORDER BY count(*) DESC, 1 LIMIT ?",
                  [limit])["customer_id"].tolist()


def test_every_served_path_names_edges_that_exist(fresh_shop: sl.Workspace) -> None:
    """The gate: the REST answer's paths, checked edge by edge on the graph file."""
    ws = fresh_shop
    api.train(ws, "itemknn", deploy=True, evaluate_first=False)
    key = create_key(ws, "read", "reader")
    served: list[tuple[str, dict[str, Any]]] = []
    with make_client(ws) as client:
        for customer in buyers(ws, CUSTOMERS):
            answer = client.get(f"/api/v1/recommend/customers/{customer}?k=10", headers=auth(key))
            assert answer.status_code == 200, answer.text
            served += [(customer, item) for item in answer.json()["items"]]
    with_path = [(c, item) for c, item in served if item["path"] is not None]
    assert len(with_path) >= len(served) // 2, "most recommendations of buyers should have a graph path"
    edges = Edges(ws)
    try:
        for customer, item in with_path:
            path = item["path"]
            edges.check(path, customer)
            assert path[-1]["source"]["id"] == item["product_id"] or path[-1]["target"]["id"] == item["product_id"]
            assert path[1]["source"]["name"] in item["reason"]  # the sentence names the product bought
    finally:
        edges.close()
    without = [item for _, item in served if item["path"] is None]
    assert all(item["path_kind"] is None and item["reason"] for item in without)


def test_each_kind_of_path_finds_edges_that_exist(graph_shop: sl.Workspace) -> None:
    """Rule by rule (not only the strongest that wins): whatever each rule finds exists in the graph, and the
    shop's graph gives paths of several kinds."""
    customers = buyers(graph_shop, 15)
    products = graph_shop.sql("SELECT product_id FROM products ORDER BY 1")["product_id"].tolist()
    kinds: Counter[str] = Counter()
    edges = Edges(graph_shop)
    try:
        with open_store(graph_shop) as store:
            for rule in RULES:
                for customer in customers:
                    for found in graph_reasons(store, customer, products, rules=(rule,)).values():
                        assert found.kind == rule.kind
                        edges.check(found.path, customer)
                        kinds[rule.kind] += 1
    finally:
        edges.close()
    assert {"bought_together", "viewed_together", "same_brand", "similar", "same_category"} <= set(kinds), kinds


def test_a_path_that_is_not_there_is_caught(graph_shop: sl.Workspace) -> None:
    """The check can fail: an edge the graph does not hold is not found."""
    edges = Edges(graph_shop)
    try:
        made_up = {"source": {"table": "Product", "id": "P00001"}, "relation": "BOUGHT_TOGETHER",
                   "target": {"table": "Product", "id": "P99999"}}
        assert edges.find(made_up) == []
    finally:
        edges.close()


def test_bought_together_names_the_orders_and_a_positive_lift(graph_shop: sl.Workspace) -> None:
    with open_store(graph_shop) as store:
        products = graph_shop.sql("SELECT product_id FROM products")["product_id"].tolist()
        found = [f for c in buyers(graph_shop, 10)
                 for f in graph_reasons(store, c, products, rules=(RULES[0],)).values()]
    assert found
    for item in found:
        last = item.path[-1]["properties"]
        assert last["lift"] > 1  # co-bought less often than chance explains nothing
        orders = last["orders"]
        assert item.reason.endswith(f"in {orders:,} order{'s' if orders != 1 else ''}")


def test_without_a_graph_explanations_stay_as_they_were(small_shop: sl.Workspace, tmp_path: Path) -> None:
    assert not (graph_folder(small_shop) / DATABASE_FILE).exists()
    model = ItemKNN().fit(small_shop)
    customer = buyers(small_shop, 1)[0]
    frame = model.recommend(customer, 10)
    assert explain_with_graph(small_shop, frame, customer).equals(frame)


def test_the_graph_reason_replaces_the_models_only_where_a_path_exists(graph_shop: sl.Workspace) -> None:
    model = ItemKNN().fit(graph_shop)
    customer = buyers(graph_shop, 1)[0]
    frame = model.recommend(customer, 20)
    explained = explain_with_graph(graph_shop, frame, customer)
    assert list(explained["product_id"]) == list(frame["product_id"])  # the ranking is the model's
    has_path = explained["path"].notna()
    assert has_path.any()
    assert (explained.loc[~has_path, "reason"] == frame.loc[~has_path, "reason"]).all()
    assert (explained.loc[has_path, "reason"] != frame.loc[has_path, "reason"]).all()


def test_praised_aspect_paths_go_through_what_the_customer_praised(demo_shop: sl.Workspace) -> None:
    """On the demo shop (``shoplens run``: the aspect model's mentions, then the graph): "also about 'fit', which
    you praised in 'H'" — the customer's own review of H was positive about the aspect, R's reviews are positive
    about it on the whole, and every edge exists."""
    rule = next(r for r in RULES if r.kind == "praised_aspect")
    customers = demo_shop.sql("""SELECT DISTINCT r.customer_id FROM reviews_aspect_mentions m JOIN reviews r
                                 USING (review_id) WHERE m.sentiment = 'positive' AND r.customer_id IS NOT NULL
                                 ORDER BY 1 LIMIT 20""")["customer_id"].tolist()
    products = demo_shop.sql("SELECT product_id FROM products")["product_id"].tolist()
    checked = 0
    edges = Edges(demo_shop)
    try:
        with open_store(demo_shop) as store:
            assert store is not None, "the demo pipeline builds the graph"
            for customer in customers:
                praised = praised_aspects(demo_shop, customer)
                for found in graph_reasons(store, customer, products, praised, rules=(rule,)).values():
                    edges.check(found.path, customer)
                    bought, aspect = found.path[1]["source"]["id"], found.path[1]["target"]["id"]
                    assert (bought, aspect) in praised
                    assert found.path[2]["properties"]["mean_sentiment"] > 0
                    assert found.reason.startswith(f"also about '{aspect.replace('_', '/')}', which you praised in")
                    checked += 1
    finally:
        edges.close()
    assert checked > 0


def test_every_customers_praises_at_once_equal_each_customers(demo_shop: sl.Workspace) -> None:
    everyone = praised_by_customer(demo_shop)
    assert sum(len(pairs) for pairs in everyone.values()) > 0
    customers = demo_shop.sql("SELECT customer_id FROM customers ORDER BY customer_id")["customer_id"].astype(str)
    for customer in customers:
        assert everyone.get(customer, set()) == praised_aspects(demo_shop, customer)


def test_the_customer_page_shows_each_path_and_links_the_graph_page(fresh_shop: sl.Workspace) -> None:
    ws = fresh_shop
    api.train(ws, "itemknn", deploy=True, evaluate_first=False)
    key = create_key(ws, "read", "reader")
    customer = buyers(ws, 1)[0]
    with make_client(ws) as client:
        served = client.get(f"/api/v1/recommend/customers/{customer}?k=10", headers=auth(key)).json()["items"]
        client.get(f"/recommend?key={key}")  # the session
        page = client.get(f"/recommend/customer?customer_id={customer}&k=10")
    assert page.status_code == 200
    with_path = [item for item in served if item["path"]]
    assert with_path
    shown = html.unescape(page.text)
    for item in with_path:
        bought = item["path"][0]["target"]["name"]
        assert f'data-path-kind="{item["path_kind"]}" title="{customer} –BOUGHT→ {bought}' in shown
    for item in served:
        assert f'<a href="/graph?product={item["product_id"]}"' in page.text


def test_a_graph_that_cannot_be_read_leaves_the_models_reasons(graph_shop: sl.Workspace, tmp_path: Path) -> None:
    ws = copy_workspace(graph_shop, tmp_path)
    database = graph_folder(ws) / DATABASE_FILE
    database.write_bytes(b"not a database" * 1000)  # damaged (a disk fault, a copy cut short)
    model = ItemKNN().fit(ws)
    customer = buyers(ws, 1)[0]
    frame = model.recommend(customer, 10)
    assert explain_with_graph(ws, frame, customer).equals(frame)
